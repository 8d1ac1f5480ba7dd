// CPU kernels of attention_xcorr: work split over threads (at::parallel_for,
// OpenMP) and run-time choice of the instruction set (see xcorr_isa.h).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
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
      return {avx512::block_lanes(T()), avx512::forward_rows, avx512::grad_input,
              avx512::grad_weight, avx512::split_weight_grad, avx512::pack_pixels, avx512::pack_weighted, avx512::unpack_pixels};
    case Isa::avx2:
      return {avx2::block_lanes(T()), avx2::forward_rows, avx2::grad_input, avx2::grad_weight, avx2::split_weight_grad,
              avx2::pack_pixels, avx2::pack_weighted, avx2::unpack_pixels};
#endif
    default:
      return {generic::block_lanes(T()), generic::forward_rows, generic::grad_input,
              generic::grad_weight, generic::split_weight_grad, generic::pack_pixels, generic::pack_weighted, generic::unpack_pixels};
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

at::MemoryFormat layout_of(const at::Tensor& t) {
  return is_channels_last(t) ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Where element (c, pixel) of map n sits in a 4-D tensor of any layout (NCHW,
// channels-last, or any strides with H*W pixels addressable as one index).
struct Strides {
  int64_t n, c, p;
};

Strides pixel_strides(const at::Tensor& t) {
  // A pixel index p = y*W + x needs stride(H) == W * stride(W), which NCHW and
  // channels-last contiguous tensors have, except that a size-1 dimension may carry
  // any stride: with W == 1 the pixel index is y.
  return {t.stride(0), t.stride(1), t.size(3) == 1 ? t.stride(2) : t.stride(3)};
}

// Buffers the kernels read or write whole vectors of: 64-byte aligned, so that no
// vector load straddles two cache lines (which halves what the load ports deliver).
template <typename T>
struct CacheLineAllocator {
  typedef T value_type;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const CacheLineAllocator&) const { return true; }
  bool operator!=(const CacheLineAllocator&) const { return false; }
};
template <typename T>
using Buffer = std::vector<T, CacheLineAllocator<T>>;

// Per-thread buffers that keep their memory from call to call: a fresh allocation of a
// few hundred KB is served by mmap and pays a page fault per 4 KB on first touch (at
// batch 32, a tenth of the forward).  One slot per kind of content.
enum Slot { kSearch, kPartial, kTemplate, kGrad, kWeighted, kSlots };

template <typename T>
Buffer<T>& thread_buffer(Slot slot) {
  thread_local Buffer<T> buffers[kSlots];
  return buffers[slot];
}

// The kernels read a channel-blocked layout (xcorr_core.h).  Each work item packs the
// slice of x it reads into a per-thread buffer that stays in cache, from NCHW or
// channels-last alike (a separate full-size layout copy would cost as much memory
// traffic as the correlation itself); the tiny weighted template is packed once.

// wt = s*b*z of every template, blocked: Bz * (C/N)*h*w*N values.
// (in the calling thread's kWeighted buffer: only the calling thread uses that slot)
template <typename T>
const Buffer<T>& weighted_templates(const at::Tensor& z, const at::Tensor& s, const at::Tensor& b,
                                    const Geometry& g) {
  const auto& k = kernels<T>();
  const int64_t Bz = z.size(0), hw = g.h * g.w, N = k.lanes;
  const int64_t Cb = (g.C + N - 1) / N, size = Cb * hw * N;
  Buffer<T>& wt = thread_buffer<T>(kWeighted);
  wt.resize(Bz * size);
  const Strides zs = pixel_strides(z);
  const T *zp = z.data_ptr<T>(), *sp = s.data_ptr<T>(), *bp = b.data_ptr<T>();
  at::parallel_for(0, Bz, 1, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      k.pack_weighted(zp + m * zs.n, zs.c, zs.p, hw, g.C, sp + m * hw, bp + m * g.C,
                      wt.data() + m * size);
    }
  });
  return wt;
}

template <typename T>
void forward_loop(const at::Tensor& z, const at::Tensor& x, const at::Tensor& s,
                  const at::Tensor& b, at::Tensor& out, const Geometry& g) {
  const auto& k = kernels<T>();
  const int64_t Bz = z.size(0), Bx = x.size(0), N = k.lanes;
  const int64_t Cp = (g.C + N - 1) / N * N, wt_size = Cp * g.h * g.w;
  const auto& wt = weighted_templates<T>(z, s, b, g);
  const int64_t blocks = num_blocks(Bx, g.Ho);
  const int64_t rows = (g.Ho + blocks - 1) / blocks;
  const Strides xs = pixel_strides(x);
  const T* xp = x.data_ptr<T>();
  T* op = out.data_ptr<T>();
  at::parallel_for(0, Bx * blocks, 1, [&](int64_t begin, int64_t end) {
    Buffer<T>& xbuf = thread_buffer<T>(kSearch);
    Buffer<T>& scratch = thread_buffer<T>(kPartial);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, i0 = (item % blocks) * rows;
      const int64_t i1 = std::min(g.Ho, i0 + rows);
      if (i0 >= i1) continue;
      const int64_t m = Bz == 1 ? 0 : n;
      // Rows i0..i1 of the response read search rows i0..i1+h-1.
      Geometry part = g;
      part.Ho = i1 - i0;
      part.H = part.Ho + g.h - 1;
      xbuf.resize(Cp * part.H * g.W);
      scratch.resize(part.Ho * g.Wo * N);
      k.pack_pixels(xp + n * xs.n + i0 * g.W * xs.p, xs.c, xs.p, part.H * g.W, g.C, xbuf.data());
      k.forward_rows(xbuf.data(), wt.data() + m * wt_size, op + n * g.Ho * g.Wo + i0 * g.Wo, part,
                     scratch.data());
    }
  });
}

template <typename T>
void backward_loop(const at::Tensor& grad, const at::Tensor& z, const at::Tensor& x,
                   const at::Tensor& s, const at::Tensor& b, at::Tensor& gx, at::Tensor& gz,
                   at::Tensor& gs, at::Tensor& gb, const Geometry& g) {
  const auto& k = kernels<T>();
  const int64_t Bz = z.size(0), Bx = x.size(0), N = k.lanes;
  const int64_t Cp = (g.C + N - 1) / N * N, hw = g.h * g.w, HoWo = g.Ho * g.Wo;
  const auto& wt = weighted_templates<T>(z, s, b, g);
  const Strides xs = pixel_strides(x), gxs = pixel_strides(gx);
  const T *gp = grad.data_ptr<T>(), *xp = x.data_ptr<T>();
  T* gxp = gx.data_ptr<T>();

  // grad_x, in the layout of x: work items own (search map, block of rows); the kernel
  // gathers from grad padded with w-1 zero columns a side, into channels-last grad_x
  // when its channels are whole blocks, else into a blocked buffer unpacked here.
  const bool direct = gxs.c == 1 && gxs.p == g.C && g.C % N == 0;
  const int64_t Wp = g.Wo + 2 * (g.w - 1);
  int64_t blocks = num_blocks(Bx, g.H);
  const int64_t rows = (g.H + blocks - 1) / blocks;
  at::parallel_for(0, Bx * blocks, 1, [&](int64_t begin, int64_t end) {
    Buffer<T>& gpad = thread_buffer<T>(kGrad);
    Buffer<T>& gxbuf = thread_buffer<T>(kSearch);
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
      const int64_t m = Bz == 1 ? 0 : n, pixels = (p1 - p0) * g.W;
      T* dst = gxp + n * gxs.n + p0 * g.W * gxs.p;
      if (direct) {  // channels-last rows, written in place
        k.grad_input(gpad.data(), wt.data() + m * Cp * hw, dst, g, p0, p1, g.C, N);
        continue;
      }
      gxbuf.resize(Cp * pixels);
      k.grad_input(gpad.data(), wt.data() + m * Cp * hw, gxbuf.data(), g, p0, p1, N, pixels * N);
      k.unpack_pixels(gxbuf.data(), pixels, g.C, dst, gxs.c, gxs.p);
    }
  });

  // The gradients of z, spatial and channel: work items own (template, block of
  // channels) and sum the weight gradient over the search maps of that template (all
  // of them when Bz == 1), each map's channel block packed into a buffer first; then
  // split it into the three factors' gradients.  Blocks are whole 64-byte vectors of
  // channels; spatial's gradient sums over channels, so each block leaves a partial.
  const int64_t lanes = 64 / static_cast<int64_t>(sizeof(T));
  const int64_t vecs = (g.C + lanes - 1) / lanes;
  blocks = num_blocks(Bz, vecs);
  const int64_t chans = (vecs + blocks - 1) / blocks * lanes;
  const Strides zs = pixel_strides(z), gzs = pixel_strides(gz);
  const T *zp = z.data_ptr<T>(), *sp = s.data_ptr<T>(), *bp = b.data_ptr<T>();
  T *gzp = gz.data_ptr<T>(), *gbp = gb.data_ptr<T>();
  std::vector<T> gs_parts(Bz * blocks * hw, T(0));
  at::parallel_for(0, Bz * blocks, 1, [&](int64_t begin, int64_t end) {
    Buffer<T>& xbuf = thread_buffer<T>(kSearch);
    Buffer<T>& gwbuf = thread_buffer<T>(kPartial);
    Buffer<T>& zbuf = thread_buffer<T>(kTemplate);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t m = item / blocks, c0 = (item % blocks) * chans;
      const int64_t c1 = std::min(g.C, c0 + chans), nc = c1 - c0;
      if (nc <= 0) continue;
      const int64_t n0 = Bz == 1 ? 0 : m, n1 = Bz == 1 ? Bx : m + 1;
      const int64_t ncp = (nc + N - 1) / N * N;
      Geometry part = g;
      part.C = nc;
      xbuf.resize(ncp * g.H * g.W);
      gwbuf.assign(ncp * hw, T(0));
      for (int64_t n = n0; n < n1; ++n) {
        k.pack_pixels(xp + n * xs.n + c0 * xs.c, xs.c, xs.p, g.H * g.W, nc, xbuf.data());
        k.grad_weight(gp + n * HoWo, xbuf.data(), gwbuf.data(), part);
      }
      zbuf.resize(ncp * hw);
      k.pack_pixels(zp + m * zs.n + c0 * zs.c, zs.c, zs.p, hw, nc, zbuf.data());
      k.split_weight_grad(gwbuf.data(), zbuf.data(), sp + m * hw, bp + m * g.C + c0, hw, nc,
                          gs_parts.data() + item * hw, gbp + m * g.C + c0);
      k.unpack_pixels(gwbuf.data(), hw, nc, gzp + m * gzs.n + c0 * gzs.c, gzs.c, gzs.p);
    }
  });
  T* gsp = gs.data_ptr<T>();
  for (int64_t m = 0; m < Bz; ++m)
    for (int64_t p = 0; p < hw; ++p) {
      T sum = T(0);
      for (int64_t blk = 0; blk < blocks; ++blk) sum += gs_parts[(m * blocks + blk) * hw + p];
      gsp[m * hw + p] = sum;
    }
}

void check_cpu_dtype(const at::Tensor& x) {
  TORCH_CHECK_TYPE(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
                   "attention_xcorr: the CPU kernels take float32 or float64; got ", x.scalar_type(),
                   " (cast the features to float32 first)");
}

// x as the kernels can index it: NCHW or channels-last used in place, anything else
// made contiguous.
at::Tensor pixel_addressable(const at::Tensor& t) {
  return is_channels_last(t) || t.is_contiguous() ? t : t.contiguous();
}

at::Tensor forward_cpu(const at::Tensor& z_in, const at::Tensor& x_in,
                       const at::Tensor& s_in, const at::Tensor& b_in) {
  const Geometry g = check_inputs(z_in, x_in, s_in, b_in);
  check_cpu_dtype(x_in);
  const auto z = pixel_addressable(z_in), x = pixel_addressable(x_in), s = s_in.contiguous();
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
  const auto z = pixel_addressable(z_in), x = pixel_addressable(x_in), s = s_in.contiguous();
  const auto b = b_in.reshape({z.size(0), g.C}).contiguous();
  // grad_x and grad_z in the layouts of x and z (as the fake kernel promises)
  auto gx = at::empty(x.sizes(), x.options().memory_format(layout_of(x)));
  auto gz = at::empty(z.sizes(), z.options().memory_format(layout_of(z)));
  auto gs = at::empty(s.sizes(), s.options());
  auto gb = at::empty(b_in.sizes(), b.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "attention_xcorr_backward_cpu", [&] {
    backward_loop<scalar_t>(grad, z, x, s, b, gx, gz, gs, gb, g);
  });
  return {gz, gx, gs, gb};
}

}  // namespace

TORCH_LIBRARY_IMPL(rasnet, CPU, m) {
  m.impl("attention_xcorr", &forward_cpu);
  m.impl("_attention_xcorr_backward", &backward_cpu);
}

}  // namespace cpu
}  // namespace rasnet
