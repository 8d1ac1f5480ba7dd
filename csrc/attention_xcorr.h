#pragma once
// Shared pieces of the attention_xcorr op: input checks and the device-agnostic
// tail of the backward.  Kernels live in cpu/ and cuda/; the schema, autograd
// and the Python module in attention_xcorr.cpp.
#include <tuple>

#include <ATen/core/Tensor.h>

#include "cpu/xcorr_geometry.h"

namespace rasnet {

// Checks ranks, shapes (Bz == Bx or Bz == 1, channels, template <= search,
// nothing empty), dtypes and devices; every message names all four shapes.
Geometry check_inputs(const at::Tensor& z, const at::Tensor& x,
                      const at::Tensor& spatial, const at::Tensor& channel);

// check_inputs, plus: grad must be (Bx, 1, Ho, Wo).
Geometry check_backward_inputs(const at::Tensor& grad, const at::Tensor& z, const at::Tensor& x,
                               const at::Tensor& spatial, const at::Tensor& channel);

// The backward kernels produce grad_x and gw = dL/d(weighted template), shape
// (Bz,C,h,w).  This turns gw into the gradients of z (in z's layout), spatial and
// channel (tiny tensors, plain ATen ops on any device).
std::tuple<at::Tensor, at::Tensor, at::Tensor> split_weight_grad(
    const at::Tensor& gw, const at::Tensor& z, const at::Tensor& spatial,
    const at::Tensor& channel);

}  // namespace rasnet
