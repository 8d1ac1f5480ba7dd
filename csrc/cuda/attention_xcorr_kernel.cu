// CUDA kernels of attention_xcorr (float32, float64, float16, bfloat16;
// accumulation in float for the 16-bit types).
//
// forward: a block per (search map, channel group); each thread owns response
//   pixels and sums over the group's channels and the template window.  The
//   weighted template s*b*z is formed in registers, never stored; the few
//   per-group partial maps are then summed (deterministic, no atomics).
// backward: the weighted template is materialised (tiny); grad_x gathers it
//   against grad, one thread per element of grad_x; gw = dL/d(weighted
//   template) is one warp per (template, c, u, v), reducing over the response.
// layout: x is read through its strides, so an NCHW or channels-last x is used
//   where it lies (no copy per call); grad_x comes back in x's layout, the rule
//   the CPU kernels and the fake kernel (ops/attention_xcorr.py) follow.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "../attention_xcorr.h"

namespace rasnet {
namespace cuda {

namespace {

constexpr int kThreads = 256;

// SM count of the current device, cached per device: one process may drive several GPUs.
int num_sms() {
  static std::array<std::atomic<int>, 64> cache{};
  int device = 0, sms = 0;
  C10_CUDA_CHECK(cudaGetDevice(&device));
  if (device >= 0 && device < static_cast<int>(cache.size()) && (sms = cache[device].load()) > 0) return sms;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  if (device >= 0 && device < static_cast<int>(cache.size())) cache[device].store(sms);
  return sms;
}

// Element strides of x (N, C, H, W), so the kernels read any dense layout in place.
struct Strides {
  int64_t n, c, h, w;
};

Strides strides_of(const at::Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}; }

bool is_channels_last(const at::Tensor& t) { return t.is_contiguous(at::MemoryFormat::ChannelsLast); }

// x as the kernels take it: in place when NCHW or channels-last, else copied once.
at::Tensor dense(const at::Tensor& x) { return is_channels_last(x) ? x : x.contiguous(); }

template <typename T, typename acc_t>
__global__ void forward_kernel(const T* __restrict__ z, const T* __restrict__ x,
                               const T* __restrict__ s, const T* __restrict__ b,
                               acc_t* __restrict__ partial, Geometry g, Strides xs,
                               int64_t Bz, int64_t chans) {
  const int64_t n = blockIdx.x, group = blockIdx.y, groups = gridDim.y;
  const int64_t m = Bz == 1 ? 0 : n;
  const int64_t c0 = group * chans, c1 = min(g.C, c0 + chans);
  const int64_t hw = g.h * g.w;
  const T* zm = z + m * g.C * hw;
  const T* sm = s + m * hw;
  const T* bm = b + m * g.C;
  const T* xn = x + n * xs.n;
  for (int64_t k = threadIdx.x; k < g.Ho * g.Wo; k += blockDim.x) {
    const int64_t i = k / g.Wo, j = k % g.Wo;
    acc_t acc = 0;
    for (int64_t c = c0; c < c1; ++c) {
      const acc_t bc = static_cast<acc_t>(bm[c]);
      const T* zc = zm + c * hw;
      const T* xc = xn + c * xs.c + i * xs.h + j * xs.w;
      for (int64_t u = 0; u < g.h; ++u)
        for (int64_t v = 0; v < g.w; ++v)
          acc += static_cast<acc_t>(sm[u * g.w + v]) * bc * static_cast<acc_t>(zc[u * g.w + v]) *
                 static_cast<acc_t>(xc[u * xs.h + v * xs.w]);
    }
    partial[(n * groups + group) * g.Ho * g.Wo + k] = acc;
  }
}

template <typename T, typename acc_t>
__global__ void grad_input_kernel(const T* __restrict__ grad, const T* __restrict__ wt,
                                  T* __restrict__ gx, Geometry g, int64_t Bx, int64_t Bz,
                                  bool nhwc) {
  const int64_t total = Bx * g.C * g.H * g.W;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    // idx walks gx in memory order (NCHW or NHWC), so the writes stay coalesced
    int64_t n, c, p, q;
    if (nhwc) {
      c = idx % g.C, q = (idx / g.C) % g.W, p = (idx / (g.C * g.W)) % g.H, n = idx / (g.C * g.W * g.H);
    } else {
      q = idx % g.W, p = (idx / g.W) % g.H, c = (idx / (g.W * g.H)) % g.C, n = idx / (g.W * g.H * g.C);
    }
    const int64_t m = Bz == 1 ? 0 : n;
    const T* wc = wt + (m * g.C + c) * g.h * g.w;
    const T* gn = grad + n * g.Ho * g.Wo;
    // Response pixel (p-u, q-v) must lie inside the Ho x Wo map.
    const int64_t u0 = max(int64_t(0), p - g.Ho + 1), u1 = min(g.h - 1, p);
    const int64_t v0 = max(int64_t(0), q - g.Wo + 1), v1 = min(g.w - 1, q);
    acc_t acc = 0;
    for (int64_t u = u0; u <= u1; ++u)
      for (int64_t v = v0; v <= v1; ++v)
        acc += static_cast<acc_t>(gn[(p - u) * g.Wo + q - v]) * static_cast<acc_t>(wc[u * g.w + v]);
    gx[idx] = static_cast<T>(acc);
  }
}

template <typename T, typename acc_t>
__global__ void grad_weight_kernel(const T* __restrict__ grad, const T* __restrict__ x,
                                   acc_t* __restrict__ gw, Geometry g, Strides xs, int64_t Bx,
                                   int64_t Bz) {
  const int64_t warps_per_block = blockDim.x / 32;
  const int64_t warp = blockIdx.x * warps_per_block + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int64_t hw = g.h * g.w;
  if (warp >= Bz * g.C * hw) return;  // whole warps exit together
  const int64_t v = warp % g.w, u = (warp / g.w) % g.h;
  const int64_t c = (warp / hw) % g.C, m = warp / (hw * g.C);
  const int64_t n0 = Bz == 1 ? 0 : m, count = (Bz == 1 ? Bx : 1) * g.Ho * g.Wo;
  acc_t acc = 0;
  for (int64_t k = lane; k < count; k += 32) {
    const int64_t n = n0 + k / (g.Ho * g.Wo), ij = k % (g.Ho * g.Wo);
    const int64_t i = ij / g.Wo, j = ij % g.Wo;
    acc += static_cast<acc_t>(grad[n * g.Ho * g.Wo + ij]) *
           static_cast<acc_t>(x[n * xs.n + c * xs.c + (i + u) * xs.h + (j + v) * xs.w]);
  }
  for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(0xffffffffu, acc, offset);
  if (lane == 0) gw[warp] = acc;
}

unsigned int grid_for(int64_t total, int threads) {
  return static_cast<unsigned int>(std::min<int64_t>((total + threads - 1) / threads, int64_t(1) << 30));
}

at::Tensor forward_cuda(const at::Tensor& z_in, const at::Tensor& x_in,
                        const at::Tensor& s_in, const at::Tensor& b_in) {
  const Geometry g = check_inputs(z_in, x_in, s_in, b_in);
  c10::cuda::CUDAGuard guard(x_in.device());
  const auto z = z_in.contiguous(), x = dense(x_in), s = s_in.contiguous();
  const auto b = b_in.reshape({z.size(0), g.C}).contiguous();
  const int64_t Bz = z.size(0), Bx = x.size(0);
  // Enough (map, group) blocks to fill the GPU twice over.
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(g.C, (2 * num_sms() + Bx - 1) / Bx));
  const int64_t chans = (g.C + groups - 1) / groups;
  const auto acc_dtype = at::toOpMathType(x.scalar_type());
  auto partial = at::empty({Bx, groups, g.Ho, g.Wo}, x.options().dtype(acc_dtype));
  const dim3 grid(static_cast<unsigned int>(Bx), static_cast<unsigned int>(groups));
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, (g.Ho * g.Wo + 31) / 32 * 32));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "attention_xcorr_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    forward_kernel<scalar_t, acc_t><<<grid, threads, 0, stream>>>(
        z.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), s.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
        partial.data_ptr<acc_t>(), g, strides_of(x), Bz, chans);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return partial.sum(1, /*keepdim=*/true).to(x.scalar_type());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> backward_cuda(
    const at::Tensor& grad_in, const at::Tensor& z_in, const at::Tensor& x_in,
    const at::Tensor& s_in, const at::Tensor& b_in) {
  const Geometry g = check_backward_inputs(grad_in, z_in, x_in, s_in, b_in);
  c10::cuda::CUDAGuard guard(x_in.device());
  const auto dtype = x_in.scalar_type();
  const auto acc_dtype = at::toOpMathType(dtype);
  const auto grad = grad_in.to(dtype).contiguous();
  // z made dense here, not by a later .to(): a 16-bit z copied to float by .to() could
  // come out channels-last where z itself is neither layout, and grad_z takes its layout
  // from that tensor (the fake kernel and the CPU kernels go by z).
  const auto x = dense(x_in), z = dense(z_in), s = s_in.contiguous();
  const int64_t Bz = z.size(0), Bx = x.size(0);
  const auto b4 = b_in.reshape({Bz, g.C, 1, 1});
  // the weighted template formed in the accumulation type and rounded once, as the
  // forward forms it in registers
  const auto wt = (z.to(acc_dtype) * s.to(acc_dtype) * b4.to(acc_dtype)).to(dtype).contiguous();
  const bool nhwc = is_channels_last(x);
  auto gx = at::empty(x.sizes(), x.options().memory_format(
      nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
  auto gw = at::empty(z.sizes(), z.options().dtype(acc_dtype));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, dtype, "attention_xcorr_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const int64_t total = gx.numel();
    grad_input_kernel<scalar_t, acc_t><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        grad.data_ptr<scalar_t>(), wt.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), g, Bx, Bz, nhwc);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    const int64_t warps = gw.numel();
    grad_weight_kernel<scalar_t, acc_t><<<grid_for(warps * 32, kThreads), kThreads, 0, stream>>>(
        grad.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), gw.data_ptr<acc_t>(), g, strides_of(x), Bx, Bz);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  auto rest = split_weight_grad(gw, z.to(acc_dtype), s.to(acc_dtype), b_in.to(acc_dtype));
  return {std::get<0>(rest).to(dtype), gx, std::get<1>(rest).to(dtype), std::get<2>(rest).to(dtype)};
}

}  // namespace

TORCH_LIBRARY_IMPL(rasnet, CUDA, m) {
  m.impl("attention_xcorr", &forward_cuda);
  m.impl("_attention_xcorr_backward", &backward_cuda);
}

}  // namespace cuda
}  // namespace rasnet
