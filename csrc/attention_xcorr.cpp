// attention_xcorr: schema, input checks, autograd, and the Python module.
//
//   out[n,0,i,j] = sum_{c,u,v} s[m,0,u,v] * b[m,c] * z[m,c,u,v] * x[n,c,i+u,j+v]
//   with m = n (Bz == Bx) or m = 0 (Bz == 1: one template, many search crops).
//
// Device kernels register themselves in cpu/ and cuda/; fake (meta) kernels are
// registered from Python (rasnet_plugin/ops/attention_xcorr.py) so symbolic
// shapes flow through torch.compile.
#include <Python.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <sstream>

#include "attention_xcorr.h"
#include "cpu/xcorr_isa.h"

namespace rasnet {

namespace {

std::string shapes(const at::Tensor& z, const at::Tensor& x,
                   const at::Tensor& s, const at::Tensor& b) {
  std::ostringstream os;
  os << "z " << z.sizes() << ", x " << x.sizes() << ", spatial " << s.sizes()
     << ", channel " << b.sizes();
  return os.str();
}

}  // namespace

Geometry check_inputs(const at::Tensor& z, const at::Tensor& x,
                      const at::Tensor& s, const at::Tensor& b) {
  const auto desc = [&] { return shapes(z, x, s, b); };
  TORCH_CHECK_VALUE(z.dim() == 4 && x.dim() == 4 && s.dim() == 4,
                    "attention_xcorr: z, x and spatial must be 4-D (N,C,H,W); got ", desc());
  TORCH_CHECK_VALUE(b.dim() == 2 || (b.dim() == 4 && b.size(2) == 1 && b.size(3) == 1),
                    "attention_xcorr: channel must be (Bz,C) or (Bz,C,1,1); got ", desc());
  const int64_t Bz = z.size(0), C = z.size(1), h = z.size(2), w = z.size(3);
  const int64_t Bx = x.size(0), H = x.size(2), W = x.size(3);
  TORCH_CHECK_VALUE(x.size(1) == C, "attention_xcorr: channel mismatch between z and x; got ", desc());
  TORCH_CHECK_VALUE(Bz == Bx || Bz == 1,
                    "attention_xcorr: template batch must be 1 or equal the search batch; got ", desc());
  TORCH_CHECK_VALUE(s.size(0) == Bz && s.size(1) == 1 && s.size(2) == h && s.size(3) == w,
                    "attention_xcorr: spatial must be (Bz,1,h,w) = (", Bz, ",1,", h, ",", w, "); got ", desc());
  TORCH_CHECK_VALUE(b.size(0) == Bz && b.size(1) == C,
                    "attention_xcorr: channel must be (Bz,C) = (", Bz, ",", C, "); got ", desc());
  TORCH_CHECK_VALUE(Bz > 0 && C > 0 && h > 0 && w > 0 && Bx > 0 && H > 0 && W > 0,
                    "attention_xcorr: empty input; got ", desc());
  TORCH_CHECK_VALUE(h <= H && w <= W, "attention_xcorr: template larger than search; got ", desc());
  TORCH_CHECK_TYPE(x.scalar_type() == z.scalar_type() && s.scalar_type() == z.scalar_type() &&
                       b.scalar_type() == z.scalar_type(),
                   "attention_xcorr: all inputs must share one dtype; got z ", z.scalar_type(), ", x ",
                   x.scalar_type(), ", spatial ", s.scalar_type(), ", channel ", b.scalar_type());
  TORCH_CHECK_TYPE(at::isFloatingType(z.scalar_type()),
                   "attention_xcorr: inputs must be floating point; got ", z.scalar_type());
  TORCH_CHECK_VALUE(x.device() == z.device() && s.device() == z.device() && b.device() == z.device(),
                    "attention_xcorr: all inputs must be on one device; got z ", z.device(), ", x ",
                    x.device(), ", spatial ", s.device(), ", channel ", b.device());
  return Geometry{C, H, W, h, w, H - h + 1, W - w + 1};
}

Geometry check_backward_inputs(const at::Tensor& grad, const at::Tensor& z, const at::Tensor& x,
                               const at::Tensor& s, const at::Tensor& b) {
  const Geometry g = check_inputs(z, x, s, b);
  TORCH_CHECK_VALUE(grad.dim() == 4 && grad.size(0) == x.size(0) && grad.size(1) == 1 &&
                        grad.size(2) == g.Ho && grad.size(3) == g.Wo,
                    "attention_xcorr backward: grad must be (", x.size(0), ",1,", g.Ho, ",", g.Wo,
                    "); got ", grad.sizes());
  TORCH_CHECK_VALUE(grad.device() == x.device(), "attention_xcorr backward: grad on ", grad.device(),
                    ", inputs on ", x.device());
  return g;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> split_weight_grad(
    const at::Tensor& gw, const at::Tensor& z, const at::Tensor& s, const at::Tensor& b) {
  const auto b4 = b.reshape({z.size(0), z.size(1), 1, 1});
  auto grad_z = gw * s * b4;
  auto grad_s = (gw * b4 * z).sum(1, /*keepdim=*/true);
  auto grad_b = (gw * s * z).sum({2, 3}).reshape(b.sizes()).contiguous();
  // grad_z in z's layout, as the fake kernel promises (and as grad_x follows x)
  const auto z_layout = z.is_contiguous(at::MemoryFormat::ChannelsLast)
                            ? at::MemoryFormat::ChannelsLast
                            : at::MemoryFormat::Contiguous;
  return {grad_z.contiguous(z_layout), grad_s.contiguous(), grad_b};
}

namespace {

at::Tensor attention_xcorr(const at::Tensor& z, const at::Tensor& x,
                           const at::Tensor& s, const at::Tensor& b) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("rasnet::attention_xcorr", "")
                       .typed<decltype(attention_xcorr)>();
  return op.call(z, x, s, b);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_xcorr_backward(
    const at::Tensor& grad, const at::Tensor& z, const at::Tensor& x,
    const at::Tensor& s, const at::Tensor& b) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("rasnet::_attention_xcorr_backward", "")
                       .typed<decltype(attention_xcorr_backward)>();
  return op.call(grad, z, x, s, b);
}

class AttentionXcorrFunction : public torch::autograd::Function<AttentionXcorrFunction> {
 public:
  static torch::autograd::variable_list forward(
      torch::autograd::AutogradContext* ctx, const torch::autograd::Variable& z,
      const torch::autograd::Variable& x, const torch::autograd::Variable& s,
      const torch::autograd::Variable& b) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto out = attention_xcorr(z, x, s, b);
    ctx->save_for_backward({z, x, s, b});
    return {out};
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx, const torch::autograd::variable_list& grad_output) {
    const auto saved = ctx->get_saved_variables();
    auto grads = attention_xcorr_backward(grad_output[0], saved[0], saved[1], saved[2], saved[3]);
    return {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads), std::get<3>(grads)};
  }
};

at::Tensor attention_xcorr_autograd(const at::Tensor& z, const at::Tensor& x,
                                    const at::Tensor& s, const at::Tensor& b) {
  return AttentionXcorrFunction::apply(z, x, s, b)[0];
}

}  // namespace

TORCH_LIBRARY(rasnet, m) {
  m.def("attention_xcorr(Tensor z, Tensor x, Tensor spatial, Tensor channel) -> Tensor");
  m.def("_attention_xcorr_backward(Tensor grad, Tensor z, Tensor x, Tensor spatial, "
        "Tensor channel) -> (Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(rasnet, Autograd, m) {
  m.impl("attention_xcorr", &attention_xcorr_autograd);
}

}  // namespace rasnet

// `import rasnet_plugin._C` loads this library, whose static initialisers
// register the ops above; the module itself only says what was built.
static PyModuleDef rasnet_module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};

PyMODINIT_FUNC PyInit__C(void) {
  PyObject* module = PyModule_Create(&rasnet_module);
  if (module == nullptr) return nullptr;
#ifdef WITH_CUDA
  const long with_cuda = 1;
#else
  const long with_cuda = 0;
#endif
  if (PyModule_AddIntConstant(module, "WITH_CUDA", with_cuda) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  if (PyModule_AddStringConstant(module, "CPU_ISA", rasnet::cpu::active_isa()) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
