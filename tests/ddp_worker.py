"""Run by test_training.py (and benchmarks/ddp_exit_stress.py) as two gloo ranks: they train on different
batches; gradients are all-reduced, so the generators must stay identical on both ranks. train() must
return a trainer without DistributedDataParallel wrappers, so that the ranks exit cleanly (issue 31)."""

import sys

import torch
import torch.distributed as dist
from torch import nn

from tsgl_encoder.bench.data import embedded_dataset
from tsgl_encoder.bench.hosts import LamaHost
from tsgl_encoder.bench.masks import create_mask_generator
from tsgl_encoder.bench.training import LossWeights, TrainConfig, train

dist.init_process_group("gloo")
train_set, _ = embedded_dataset(32, create_mask_generator("mat_large"), None)
config = TrainConfig(steps=2, batch_size=2, checkpoint_every=2, log_every=1, discriminator_width=8)
host = LamaHost(overrides={"ngf": 8, "n_blocks": 1}, adversary="patchgan")
trainer = train(host, "tsgl", train_set, config, sys.argv[1], losses=LossWeights(adversarial_weight=0.05),
                progress=False)
wrappers = [m for m in (trainer.generator, trainer.adversary) if isinstance(m, nn.parallel.DistributedDataParallel)]
assert not wrappers, "train() returned DistributedDataParallel wrappers"
flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
assert torch.equal(gathered[0], gathered[1]), "ranks diverged: gradients were not synchronised"
losses = [torch.zeros(1) for _ in range(2)]
dist.all_gather(losses, torch.tensor([trainer.history[0]["l1"]]))
assert not torch.equal(losses[0], losses[1]), "both ranks saw the same batch"
print(f"rank {dist.get_rank()}: ok")
dist.destroy_process_group()
