// Package pytorch reads PyTorch checkpoints written by torch.save (the zip
// format of torch >= 1.6), such as diffusers' diffusion_pytorch_model.bin:
// a state dict of float tensors.
//
// A checkpoint is a zip archive <name>/data.pkl, <name>/data/<key>,
// <name>/version. data.pkl is a pickle (unpickled with
// github.com/nlpodyssey/gopickle) whose tensors are
// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...), and
// each storage is a persistent id ("storage", torch.FloatStorage, key,
// location, numel) naming the record <name>/data/<key> of raw little-endian
// elements. Several tensors may view one storage, each with its own offset
// and strides: element (i_0, ..., i_k) of a view is storage[offset + Σ i_j·stride_j].
//
// Load validates before it allocates: the pickle's opcodes and length fields
// are checked against its size before gopickle runs, every storage against
// its zip record, and every view against its storage. A hostile file gives
// an error, never a panic, a hang or a huge allocation. The pre-1.6 legacy
// format and TorchScript archives are rejected with a message saying so.
package pytorch
