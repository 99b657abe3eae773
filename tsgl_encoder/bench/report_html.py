"""``report.html`` of ``tsgl-evaluate --compare``: one self-contained page (no network: inline style, script
and images as data URIs) with the per-bin table, each pair's intervals and sentence, and per image the
masked input, each method's composite and the ground truth side by side with their scores, sortable by the
difference between two chosen methods in a chosen metric (so a user finds where a method wins and loses).

When it loads, the page writes into ``<body>`` how many of its images decoded (``data-images-loaded``, beside
``data-images-total``): what a headless browser reads to check it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import torch
from PIL import Image

from ..hub import atomic_write
from .folders import UNREADABLE, read_image, read_mask

THUMBNAIL = 192  # longer side of each picture in the page, pixels

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: center; vertical-align: top; font-size: 13px; }
th { background: #f2f2f2; }
figure { margin: 0; }
figcaption { font-size: 12px; }
img { display: block; margin: 0 auto 2px; }
.controls { margin: 0.5em 0; }
.controls select { margin: 0 0.3em; }
.difference { font-weight: bold; }
"""

SCRIPT = """
const rows = Array.from(document.querySelectorAll('#images tbody tr'));
function sortRows() {
  const a = document.getElementById('method-a').value, b = document.getElementById('method-b').value;
  const metric = document.getElementById('metric').value, order = document.getElementById('order').value;
  for (const row of rows) {
    const scores = JSON.parse(row.dataset.scores);
    const difference = scores[a][metric] - scores[b][metric];
    row.dataset.difference = difference;
    row.querySelector('.difference').textContent = `${a} - ${b}: ${difference >= 0 ? '+' : ''}${difference.toFixed(4)}`;
  }
  rows.sort((x, y) => (order === 'descending' ? -1 : 1) * (x.dataset.difference - y.dataset.difference));
  const body = document.querySelector('#images tbody');
  for (const row of rows) body.appendChild(row);
}
for (const id of ['method-a', 'method-b', 'metric', 'order'])
  document.getElementById(id).addEventListener('change', sortRows);
sortRows();
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
});
"""


def _data_uri(image: torch.Tensor) -> str:
    """``(3, H, W)`` in [0, 1] -> a PNG data URI, the longer side scaled to :data:`THUMBNAIL`."""
    pixels = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels, "RGB")
    picture.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(uri: str, caption: str) -> str:
    return f'<figure><img src="{uri}" alt="{html.escape(caption)}"><figcaption>{caption}</figcaption></figure>'


def _scores(item: dict, metrics: list[str]) -> str:
    return ", ".join(f"{m.upper()} {item[m]:.4g}" for m in metrics)


def _image_row(name: str, runs: list, metrics: list[str]) -> str | None:
    """One row: masked input, each method's composite, ground truth; None when a file cannot be read."""
    first = runs[0].results
    files = first.get("files", {}).get(name)
    if files is None:
        return None
    try:
        truth = read_image(Path(files["ground_truth"]))
        known = read_mask(Path(files["mask"]), first.get("hole_value", "white"))
        composites = [truth * known + read_image(Path(run.results["files"][name]["prediction"])) * (1 - known)
                      for run in runs]
    except (*UNREADABLE, KeyError):
        return None
    items = [run.items[name] for run in runs]
    scores = {run.method: {m: min(float(item[m]), 100.0) if m == "psnr" else float(item[m]) for m in metrics}
              for run, item in zip(runs, items, strict=True)}
    cells = [_figure(_data_uri(truth * known + (1 - known)), "masked input")]
    cells += [_figure(_data_uri(c), f"<b>{html.escape(run.method)}</b><br>{_scores(item, metrics)}")
              for run, item, c in zip(runs, items, composites, strict=True)]
    cells.append(_figure(_data_uri(truth), "ground truth"))
    label = (f"{html.escape(name)}<br>hole {items[0]['hole_ratio']:.0%}<br>"
             '<span class="difference"></span>')
    return (f"<tr data-name=\"{html.escape(name)}\" data-scores='{html.escape(json.dumps(scores))}'>"
            f"<td>{label}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")


def _select(element_id: str, options: list[str], chosen: str) -> str:
    choices = "".join(f'<option value="{html.escape(o)}"{" selected" if o == chosen else ""}>{html.escape(o)}</option>'
                      for o in options)
    return f'<select id="{element_id}">{choices}</select>'


def _summary(report: dict) -> str:
    metrics = report["metrics"]
    head = "<tr><th>hole ratio</th><th>images</th><th>method</th>" + "".join(f"<th>{m}</th>" for m in metrics)
    body = "".join(
        f"<tr><td>{label}</td><td>{count}</td><td>{html.escape(method)}</td>"
        + "".join(f"<td>{report['means'][method][label][m]:.4g}</td>" for m in metrics) + "</tr>"
        for label, count in report["bins"].items() for method in report["methods"])
    return f'<table id="summary"><thead>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pairs(report: dict) -> str:
    parts = []
    for pair in report["pairs"]:
        metrics = report["metrics"]
        head = "<tr><th>hole ratio</th>" + "".join(f"<th>{m} difference [95% interval]</th>" for m in metrics)
        rows = "".join(f"<tr><td>{label}</td>" + "".join(f"<td>{_cell(row[m])}</td>" for m in metrics) + "</tr>"
                       for label, row in pair["bins"].items())
        parts.append(f"<h3>{html.escape(pair['a'])} - {html.escape(pair['b'])}</h3><p>{html.escape(pair['sentence'])}"
                     f"</p><table class=\"pair\"><thead>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)


def _cell(cell: dict) -> str:
    if cell["low"] is None:
        return f"{cell['mean']:+.3g} (one image)"
    return f"{cell['mean']:+.3g} [{cell['low']:+.3g}, {cell['high']:+.3g}]"


def render(report: dict, runs: list, limit: int) -> str:
    """The page's HTML: tables for every image, pictures for the first ``limit`` images (by name)."""
    methods, metrics = report["methods"], report["metrics"]
    names = sorted(runs[0].items)
    rows = [row for row in (_image_row(name, runs, metrics) for name in names[:limit]) if row is not None]
    shown = f"{len(rows)} of {report['count']} images" + (f" (the first {limit} by name)" if report["count"] > limit
                                                          else "")
    controls = ("Sort by " + _select("metric", metrics, metrics[0]) + " of " + _select("method-a", methods, methods[0])
                + " minus " + _select("method-b", methods, methods[1]) + _select("order", ["descending", "ascending"],
                                                                                  "descending"))
    head = "<tr><th>image</th><th>masked input</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in methods) + \
        "<th>ground truth</th></tr>"
    total = len(rows) * (len(methods) + 2)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Methods side by side</title>'
            f"<style>{STYLE}</style></head>\n<body data-images-total=\"{total}\" data-images-loaded=\"0\">"
            f"<h1>Methods side by side</h1><p>{html.escape(report['machine'])}</p>"
            f"<p>{report['count']} images paired by name; metrics on the composite (higher PSNR / SSIM, lower L1 / "
            f"LPIPS are better).</p><h2>Per hole-ratio bin</h2>{_summary(report)}<h2>Pairs</h2>{_pairs(report)}"
            f"<h2>Per image ({shown})</h2><div class=\"controls\">{controls}</div>"
            f'<table id="images"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            f"<script>{SCRIPT}</script></body></html>\n")


def write_report(report: dict, runs: list, path: Path, limit: int = 200) -> None:
    page = render(report, runs, limit)
    atomic_write(path, lambda p: Path(p).write_text(page, encoding="utf-8"))


__all__ = ["THUMBNAIL", "render", "write_report"]
