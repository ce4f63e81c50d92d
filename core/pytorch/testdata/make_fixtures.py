"""Make the PyTorch checkpoint fixtures for chrysalis/core/pytorch's tests.

Run with Debian's torch (apt-get install python3-torch; torch 1.13.1):

    /usr/bin/python3 core/pytorch/testdata/make_fixtures.py

It writes, next to this script:
  state.bin      torch.save of a flat state dict (OrderedDict) covering every storage
                 type and view that Load must handle: F32, F16, BF16, F64, a transposed
                 (non-contiguous) view, two views with storage offsets into one shared
                 storage, a 0-dim tensor, an empty tensor, and F16 specials (subnormals,
                 infinities, NaN, -0).
  nested.bin     a training-checkpoint wrapper: {"epoch": 3, "state_dict": {"a.weight": ...,
                 "block": {"b.bias": ...}}}; Load flattens the nested dict with dots.
  legacy.bin     the pre-1.6 (non-zip) format of a tiny dict, which Load rejects.
  int.bin        a state dict holding an int64 tensor, which Load rejects by name.
  expected.safetensors  every tensor of state.bin and nested.bin as torch itself reads it
                 back, converted with .float() (exact for F16/BF16, round-to-nearest for
                 F64) and made contiguous, under the names Load must give.

The Go tests never run Python; rerun this only to change the fixtures.
"""
import collections
import json
import os
import struct

import torch

here = os.path.dirname(os.path.abspath(__file__))
g = torch.Generator().manual_seed(7)


def randn(*shape):
    return torch.randn(*shape, generator=g)


shared = randn(4, 6)
state = collections.OrderedDict()
state["f32"] = randn(3, 4)
state["f16"] = randn(2, 3).half()
state["bf16"] = randn(5).bfloat16()
state["f64"] = randn(2, 2, 2).double()
state["transposed"] = randn(3, 5).t()           # strides (1, 5)
state["row"] = shared[2]                          # offset 12 into the shared storage
state["block"] = shared[1:3, 2:5]                 # offset 8, strides (6, 1)
state["block_t"] = shared[:, 1:4].t()             # offset 1, strides (1, 6)
state["scalar"] = torch.tensor(2.5)
state["empty"] = torch.zeros(0, 3)
state["f16_special"] = torch.tensor(
    [6e-8, -6e-8, 1e-5, 65504.0, float("inf"), float("-inf"), float("nan"), -0.0], dtype=torch.float16)
state["conv.weight"] = randn(2, 3, 3, 3)          # 4 dims: the pickle builds its size tuple with MARK
assert not state["transposed"].is_contiguous() and state["row"].storage_offset() == 12
torch.save(state, os.path.join(here, "state.bin"))

nested = {"epoch": 3, "state_dict": collections.OrderedDict(
    [("a.weight", randn(2, 2)), ("block", {"b.bias": randn(3)})])}
torch.save(nested, os.path.join(here, "nested.bin"))

torch.save({"w": torch.ones(2)}, os.path.join(here, "legacy.bin"), _use_new_zipfile_serialization=False)
torch.save({"steps": torch.tensor([1, 2], dtype=torch.int64)}, os.path.join(here, "int.bin"))

# Expected values as torch reads them back (a real torch.load round trip).
back = torch.load(os.path.join(here, "state.bin"))
back_nested = torch.load(os.path.join(here, "nested.bin"))
expected = {k: v for k, v in back.items()}
expected["a.weight"] = back_nested["state_dict"]["a.weight"]
expected["block.b.bias"] = back_nested["state_dict"]["block"]["b.bias"]

# A minimal safetensors writer (F32 only), sorted names, header padded to 8.
header, blobs, offset = {}, [], 0
for name in sorted(expected):
    t = expected[name].float().contiguous()
    raw = t.numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
header["__metadata__"] = {"source": "make_fixtures.py, torch " + torch.__version__}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(here, "expected.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
