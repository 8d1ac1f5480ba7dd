// CPU kernels of attention_xcorr: work split over threads (at::parallel_for,
// OpenMP) and run-time choice of the instruction set (see xcorr_isa.h).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../attention_xcorr.h"
#include "xcorr_isa.h"

namespace rasnet {
namespace cpu {

namespace {

enum class Isa { generic, avx2, avx512 };

Isa detect_isa() {
#if defined(RASNET_X86_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::generic;
}

// RASNET_CPU_ISA=generic|avx2|avx512 asks for a narrower set than the CPU's widest (to
// test or time every path on one machine); a set the CPU lacks is never chosen.
Isa choose_isa() {
  const Isa best = detect_isa();
  const char* want = std::getenv("RASNET_CPU_ISA");
  if (want == nullptr || *want == '\0') return best;
  Isa asked = best;
  if (std::strcmp(want, "generic") == 0) asked = Isa::generic;
  else if (std::strcmp(want, "avx2") == 0) asked = Isa::avx2;
  else if (std::strcmp(want, "avx512") == 0) asked = Isa::avx512;
  return static_cast<int>(asked) < static_cast<int>(best) ? asked : best;
}

Isa isa() {
  static const Isa chosen = choose_isa();
  return chosen;
}

template <typename T>
KernelTable<T> make_table() {
  switch (isa()) {
#if defined(RASNET_X86_DISPATCH)
    case Isa::avx512:
      return {avx512::forward_rows, avx512::grad_input, avx512::grad_weight, avx512::transpose};
    case Isa::avx2:
      return {avx2::forward_rows, avx2::grad_input, avx2::grad_weight, avx2::transpose};
#endif
    default:
      return {generic::forward_rows, generic::grad_input, generic::grad_weight, generic::transpose};
  }
}

}  // namespace

const char* active_isa() {
  switch (isa()) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

template <>
const KernelTable<float>& kernels<float>() {
  static const KernelTable<float> table = make_table<float>();
  return table;
}

template <>
const KernelTable<double>& kernels<double>() {
  static const KernelTable<double> table = make_table<double>();
  return table;
}

namespace {

// Splits `n` items into blocks so that `batch * blocks` work items keep every
// thread busy (about 4 items per thread), never more than `n` blocks.
int64_t num_blocks(int64_t batch, int64_t n) {
  const int64_t want = 4 * static_cast<int64_t>(at::get_num_threads());
  return std::max<int64_t>(1, std::min<int64_t>(n, (want + batch - 1) / batch));
}

bool is_channels_last(const at::Tensor& t) {
  return t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// The kernels read channels-last memory.  A channels-last input is used in
// place; an NCHW one is transposed slice by slice inside each work item, into
// a small per-thread buffer that stays in cache (a separate full-size layout
// copy would cost as much memory traffic as the correlation itself).

template <typename T>
void forward_loop(const at::Tensor& z, const at::Tensor& x, const at::Tensor& s,
                  const at::Tensor& b, at::Tensor& out, const Geometry& g) {
  const auto& k = kernels<T>();
  const int64_t Bz = z.size(0), Bx = x.size(0);
  const int64_t blocks = num_blocks(Bx, g.Ho);
  const int64_t rows = (g.Ho + blocks - 1) / blocks;
  const bool nhwc = is_channels_last(x);
  const T *zp = z.data_ptr<T>(), *xp = x.data_ptr<T>(), *sp = s.data_ptr<T>(), *bp = b.data_ptr<T>();
  T* op = out.data_ptr<T>();
  at::parallel_for(0, Bx * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> buffer;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, i0 = (item % blocks) * rows;
      const int64_t i1 = std::min(g.Ho, i0 + rows);
      if (i0 >= i1) continue;
      const int64_t m = Bz == 1 ? 0 : n;
      // Rows i0..i1 of the response read search rows i0..i1+h-1.
      Geometry part = g;
      part.Ho = i1 - i0;
      part.H = part.Ho + g.h - 1;
      const T* xs = xp + n * g.C * g.H * g.W + i0 * g.W * (nhwc ? g.C : 1);
      if (!nhwc) {
        buffer.resize(part.H * g.W * g.C);
        k.transpose(xs, g.H * g.W, buffer.data(), g.C, g.C, part.H * g.W);
        xs = buffer.data();
      }
      k.forward_rows(xs, zp + m * g.C * g.h * g.w, sp + m * g.h * g.w, bp + m * g.C,
                     op + n * g.Ho * g.Wo + i0 * g.Wo, part, 0, part.Ho);
    }
  });
}

template <typename T>
void backward_loop(const at::Tensor& grad, const at::Tensor& wt, const at::Tensor& x,
                   at::Tensor& gx, at::Tensor& gw, const Geometry& g) {
  const auto& k = kernels<T>();
  const int64_t Bz = wt.size(0), Bx = x.size(0);
  const int64_t CHW = g.C * g.H * g.W, Chw = g.C * g.h * g.w, HoWo = g.Ho * g.Wo;
  const bool nhwc = is_channels_last(x);
  const T *gp = grad.data_ptr<T>(), *wp = wt.data_ptr<T>(), *xp = x.data_ptr<T>();
  T *gxp = gx.data_ptr<T>(), *gwp = gw.data_ptr<T>();

  // grad_x, in the layout of x: work items own (search map, block of rows);
  // the kernel gathers from grad padded with w-1 zero columns a side.  For
  // NCHW x it writes channels-last rows into a buffer, transposed back here.
  const int64_t Wp = g.Wo + 2 * (g.w - 1);
  int64_t blocks = num_blocks(Bx, g.H);
  const int64_t rows = (g.H + blocks - 1) / blocks;
  at::parallel_for(0, Bx * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> gpad, rows_buf;
    int64_t padded = -1;  // which map gpad holds
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, p0 = (item % blocks) * rows;
      const int64_t p1 = std::min(g.H, p0 + rows);
      if (p0 >= p1) continue;
      if (padded != n) {
        gpad.assign(g.Ho * Wp, T(0));
        for (int64_t i = 0; i < g.Ho; ++i)
          std::copy(gp + n * HoWo + i * g.Wo, gp + n * HoWo + (i + 1) * g.Wo,
                    gpad.begin() + i * Wp + g.w - 1);
        padded = n;
      }
      const int64_t m = Bz == 1 ? 0 : n;
      if (nhwc) {
        k.grad_input(gpad.data(), wp + m * Chw, gxp + n * CHW, g, p0, p1, 0, g.C, 0);
        continue;
      }
      const int64_t pixels = (p1 - p0) * g.W;
      rows_buf.resize(pixels * g.C);
      k.grad_input(gpad.data(), wp + m * Chw, rows_buf.data(), g, p0, p1, 0, g.C, p0);
      k.transpose(rows_buf.data(), g.C, gxp + n * CHW + p0 * g.W, g.H * g.W, pixels, g.C);
    }
  });

  // gw: work items own (template, block of channels) and sum over the search
  // maps of that template (all of them when Bz == 1).  Blocks are whole
  // 64-byte vectors of channels so the kernels stay vectorised.  With NCHW x
  // the block is transposed into a buffer and accumulated in a local gw slice.
  const int64_t lanes = 64 / static_cast<int64_t>(sizeof(T));
  const int64_t vecs = (g.C + lanes - 1) / lanes;
  blocks = num_blocks(Bz, vecs);
  const int64_t chans = (vecs + blocks - 1) / blocks * lanes;
  at::parallel_for(0, Bz * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> xbuf, gwbuf;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t m = item / blocks, c0 = (item % blocks) * chans;
      const int64_t c1 = std::min(g.C, c0 + chans), nc = c1 - c0;
      if (nc <= 0) continue;
      const int64_t n0 = Bz == 1 ? 0 : m, n1 = Bz == 1 ? Bx : m + 1;
      T* gwm = gwp + m * Chw;
      if (nhwc) {
        for (int64_t uv = 0; uv < g.h * g.w; ++uv) std::fill(gwm + uv * g.C + c0, gwm + uv * g.C + c1, T(0));
        for (int64_t n = n0; n < n1; ++n) k.grad_weight(gp + n * HoWo, xp + n * CHW, gwm, g, c0, c1);
        continue;
      }
      Geometry part = g;
      part.C = nc;
      xbuf.resize(g.H * g.W * nc);
      gwbuf.assign(g.h * g.w * nc, T(0));
      for (int64_t n = n0; n < n1; ++n) {
        k.transpose(xp + n * CHW + c0 * g.H * g.W, g.H * g.W, xbuf.data(), nc, nc, g.H * g.W);
        k.grad_weight(gp + n * HoWo, xbuf.data(), gwbuf.data(), part, 0, nc);
      }
      for (int64_t uv = 0; uv < g.h * g.w; ++uv)
        std::copy(gwbuf.begin() + uv * nc, gwbuf.begin() + (uv + 1) * nc, gwm + uv * g.C + c0);
    }
  });
}

at::Tensor channels_last(const at::Tensor& t) {
  return t.contiguous(at::MemoryFormat::ChannelsLast);
}

void check_cpu_dtype(const at::Tensor& x) {
  TORCH_CHECK_TYPE(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
                   "attention_xcorr: the CPU kernels take float32 or float64; got ", x.scalar_type(),
                   " (cast the features to float32 first)");
}

at::Tensor forward_cpu(const at::Tensor& z_in, const at::Tensor& x_in,
                       const at::Tensor& s_in, const at::Tensor& b_in) {
  const Geometry g = check_inputs(z_in, x_in, s_in, b_in);
  check_cpu_dtype(x_in);
  const auto z = channels_last(z_in), s = s_in.contiguous();
  // x: used in place when channels-last, else transposed slice by slice.
  const auto x = is_channels_last(x_in) ? x_in : x_in.contiguous();
  const auto b = b_in.reshape({z.size(0), g.C}).contiguous();
  auto out = at::empty({x.size(0), 1, g.Ho, g.Wo}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "attention_xcorr_cpu", [&] {
    forward_loop<scalar_t>(z, x, s, b, out, g);
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> backward_cpu(
    const at::Tensor& grad_in, const at::Tensor& z_in, const at::Tensor& x_in,
    const at::Tensor& s_in, const at::Tensor& b_in) {
  const Geometry g = check_backward_inputs(grad_in, z_in, x_in, s_in, b_in);
  check_cpu_dtype(x_in);
  const auto grad = grad_in.to(x_in.scalar_type()).contiguous();
  const auto s = s_in.contiguous();
  const auto b4 = b_in.reshape({z_in.size(0), g.C, 1, 1});
  // The backward may materialise the weighted template: it is tiny (Bz*C*h*w).
  const auto wt = channels_last(z_in * s * b4);
  const auto x = is_channels_last(x_in) ? x_in : x_in.contiguous();
  auto gx = at::empty(x.sizes(), x.options().memory_format(
      is_channels_last(x) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
  auto gw = at::empty(z_in.sizes(), z_in.options().memory_format(at::MemoryFormat::ChannelsLast));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "attention_xcorr_backward_cpu", [&] {
    backward_loop<scalar_t>(grad, wt, x, gx, gw, g);
  });
  auto rest = split_weight_grad(gw, z_in, s, b_in);
  return {std::get<0>(rest), gx, std::get<1>(rest), std::get<2>(rest)};
}

}  // namespace

TORCH_LIBRARY_IMPL(rasnet, CPU, m) {
  m.impl("attention_xcorr", &forward_cpu);
  m.impl("_attention_xcorr_backward", &backward_cpu);
}

}  // namespace cpu
}  // namespace rasnet
