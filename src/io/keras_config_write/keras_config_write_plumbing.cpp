// Keras 3 configs of the plumbing, activation and regularisation layers (the
// inverse of keras_config_plumbing.cpp), keyed as K3 get_config() writes them.
#include "io/keras_config_write/keras_config_write_impl.h"
#include "rnnx/layers/activation_layers.h"
#include "rnnx/layers/merge_ops.h"
#include "rnnx/layers/noise.h"
#include "rnnx/layers/repeat_vector.h"

namespace rnnx::detail::keras_write {

template <class T>
std::optional<J> plumbing_layer_config(const Layer<T> &layer) {
  const std::string &name = layer.name();
  if (auto *sd = dynamic_cast<const SpatialDropout1D<T> *>(&layer)) {
    // K3 SpatialDropout1D.__init__ takes only rate, seed, name and dtype (no
    // `trainable`). Layer::seed() may be one a model derived for it, not a
    // Keras seed: not written.
    return J{{"rate", sd->options().rate}, {"seed", nullptr}, {"name", name}, {"dtype", dtype_policy<T>()}};
  }
  J c = layer_head<T>(name);
  if (auto *rv = dynamic_cast<const RepeatVector<T> *>(&layer)) {
    c["n"] = rv->options().n;
  } else if (auto *p = dynamic_cast<const Permute<T> *>(&layer)) {
    c["dims"] = p->options().dims;
  } else if (dynamic_cast<const ElementwiseMerge<T> *>(&layer)) {
    // no arguments
  } else if (auto *d = dynamic_cast<const Dot<T> *>(&layer)) {
    const auto &axes = d->options().axes;
    c["axes"] = axes.size() == 1 ? J(axes[0]) : J(axes);
    c["normalize"] = d->options().normalize;
  } else if (auto *lr = dynamic_cast<const LeakyReLU<T> *>(&layer)) {
    c["negative_slope"] = lr->negative_slope();
  } else if (auto *e = dynamic_cast<const ELU<T> *>(&layer)) {
    // K3 ELU has no get_config() of its own (alpha is not saved); its
    // constructor accepts it.
    if (e->alpha() != 1.0) c["alpha"] = e->alpha();
  } else if (auto *r = dynamic_cast<const ReLU<T> *>(&layer)) {
    const ReLUOptions &o = r->options();
    c["max_value"] = o.max_value ? J(*o.max_value) : J(nullptr);
    c["negative_slope"] = o.negative_slope;
    c["threshold"] = o.threshold;
  } else if (auto *pr = dynamic_cast<const PReLU<T> *>(&layer)) {
    const PReLUOptions &o = pr->options();
    c["alpha_initializer"] = value_json(o.alpha_initializer);
    c["alpha_regularizer"] = value_json(o.alpha_regularizer);
    c["alpha_constraint"] = value_json(o.alpha_constraint);
    c["shared_axes"] = o.shared_axes.empty() ? J(nullptr) : J(o.shared_axes);
  } else if (auto *s = dynamic_cast<const Softmax<T> *>(&layer)) {
    c["axis"] = s->axis();
  } else if (auto *n = dynamic_cast<const NoiseLayer<T> *>(&layer)) {
    c[n->kind() == NoiseKind::gaussian_noise ? "stddev" : "rate"] = n->options().rate;
    c["seed"] = nullptr;
    if (n->kind() == NoiseKind::alpha_dropout)
      c["noise_shape"] = n->options().noise_shape.empty() ? J(nullptr) : shape_json(n->options().noise_shape);
  } else if (auto *ar = dynamic_cast<const ActivityRegularization<T> *>(&layer)) {
    c["l1"] = ar->l1();
    c["l2"] = ar->l2();
  } else {
    return std::nullopt;
  }
  return c;
}

template std::optional<J> plumbing_layer_config<float>(const Layer<float> &);
template std::optional<J> plumbing_layer_config<double>(const Layer<double> &);

}  // namespace rnnx::detail::keras_write
