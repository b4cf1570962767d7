import json
import os

import pytest
import torch
from safetensors.torch import save_file

from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import CheckpointError


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))


def test_round_trip_modules_and_optimizer(tmp_path):
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(8, 3)).sum().backward()
    opt.step()
    meta_opt, tensors = ckpt.optimizer_state("opt.G", opt)
    tensors.update(ckpt.module_tensors("net.G", net))
    path = str(tmp_path / ckpt.ckpt_name(5))
    ckpt.save(path, tensors, {"step": 5, "optimizers": {"G": meta_opt}})
    t2, meta = ckpt.load(str(tmp_path))
    assert meta["step"] == 5
    net2 = _net()
    with torch.no_grad():
        for p in net2.parameters():
            p.add_(1.0)
    opt2 = torch.optim.Adam(net2.parameters(), lr=1e-3)
    ckpt.load_module("net.G", net2, t2)
    ckpt.load_optimizer("opt.G", opt2, meta["optimizers"]["G"], t2)
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)


def test_prune_keeps_newest(tmp_path):
    for s in (1, 2, 3, 4):
        ckpt.save(str(tmp_path / ckpt.ckpt_name(s)), {"a": torch.zeros(1)}, {"step": s})
    ckpt.prune(str(tmp_path), 2)
    assert [s for s, _ in ckpt.list_checkpoints(str(tmp_path))] == [3, 4]
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]


def test_bad_checkpoints_fail_cleanly(tmp_path):
    with pytest.raises(CheckpointError, match="no such run"):
        ckpt.load(str(tmp_path / "nope"))
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        ckpt.load(str(tmp_path))
    trunc = tmp_path / ckpt.ckpt_name(1)
    ckpt.save(str(trunc), {"a": torch.zeros(100)}, {"step": 1})
    trunc.write_bytes(trunc.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        ckpt.load(str(trunc))
    foreign = tmp_path / "foreign.safetensors"
    save_file({"a": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a ganforge checkpoint"):
        ckpt.load(str(foreign))
    future = tmp_path / "future.safetensors"
    save_file({"a": torch.zeros(1)}, str(future),
              metadata={"format": ckpt.FORMAT, "format_version": "99", "meta": json.dumps({})})
    with pytest.raises(CheckpointError, match="format 99"):
        ckpt.load(str(future))


def test_mismatched_network_is_named():
    net = _net()
    tensors = ckpt.module_tensors("net.G", torch.nn.Sequential(torch.nn.Linear(3, 5)))
    with pytest.raises(CheckpointError, match="does not match"):
        ckpt.load_module("net.G", net, tensors, "x")


def test_checkpoint_files_hold_no_pickle(tmp_path):
    path = str(tmp_path / ckpt.ckpt_name(1))
    ckpt.save(path, {"a": torch.arange(3.0)}, {"step": 1})
    head = open(path, "rb").read(200)
    assert b"\x80\x04" not in head[:2]  # not a pickle stream: safetensors starts with a header length
    n = int.from_bytes(open(path, "rb").read(8), "little")
    json.loads(open(path, "rb").read(8 + n)[8:])
