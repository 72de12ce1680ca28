// The counter-based generator of the device loop and device scoring (the managed Mathematics/CounterRandom, bit for
// bit): a draw is a hash of (seed, stream, counter, element index), so any element of any step can be drawn on any
// device in any order. The hash is two rounds of lowbias32 (Chris Wellons' hash-prospector) over 32-bit words held
// in int64 tensors; every product stays below 2^63, so no signed overflow ever happens.

#include "shim.h"

#include <cmath>

namespace vae {

namespace {

constexpr uint32_t kMixFirst = 0x7feb352du, kMixSecond = 0x846ca68bu;
// Odd constants from the digits of pi and the golden ratio: they keep a zero word from mapping to zero.
constexpr uint32_t kGolden = 0x9e3779b9u, kSeedSalt = 0x243f6a88u, kSecondKeySalt = 0x85a308d3u, kPairSalt = 0x13198a2eu;
constexpr int64_t kLow32 = 0xffffffffLL;
constexpr int64_t kMaxRows = int64_t{1} << 31;

uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= kMixFirst;
  x ^= x >> 15;
  x *= kMixSecond;
  x ^= x >> 16;
  return x;
}

// (x c) mod 2^32 for x in [0, 2^32): a constant c >= 2^31 is taken as (c - 2^31) + 2^31, so products stay below 2^63.
torch::Tensor multiply32(const torch::Tensor& x, uint32_t c) {
  if (c < 0x80000000u) return (x * int64_t{c}).bitwise_and(kLow32);
  return (x * int64_t{c - 0x80000000u} + x.bitwise_and(1).__lshift__(31)).bitwise_and(kLow32);
}

torch::Tensor mix(torch::Tensor x) {
  x = x.bitwise_xor(x.__rshift__(16));
  x = multiply32(x, kMixFirst);
  x = x.bitwise_xor(x.__rshift__(15));
  x = multiply32(x, kMixSecond);
  return x.bitwise_xor(x.__rshift__(16));
}

uint32_t stream_state(int32_t seed, int64_t stream) {
  uint32_t s = mix(static_cast<uint32_t>(seed) ^ kSeedSalt) + kGolden;
  s = mix(s ^ static_cast<uint32_t>(stream)) + kGolden;
  return mix(s ^ static_cast<uint32_t>(static_cast<uint64_t>(stream) >> 32)) + kGolden;
}

}  // namespace

CounterKey counter_key(int32_t seed, int64_t stream, int64_t counter) {
  uint32_t a = mix(stream_state(seed, stream) ^ static_cast<uint32_t>(counter)) + kGolden;
  a = mix(a ^ static_cast<uint32_t>(static_cast<uint64_t>(counter) >> 32));
  return {a, mix(a ^ kSecondKeySalt)};
}

std::pair<torch::Tensor, torch::Tensor> counter_keys(int32_t seed, int64_t stream, const torch::Tensor& counter) {
  auto low = counter.bitwise_and(kLow32), high = counter.__rshift__(32).bitwise_and(kLow32);
  auto a = (mix(low.bitwise_xor(int64_t{stream_state(seed, stream)})) + int64_t{kGolden}).bitwise_and(kLow32);
  a = mix(a.bitwise_xor(high));
  auto b = mix(a.bitwise_xor(int64_t{kSecondKeySalt}));
  return {a.unsqueeze(1), b.unsqueeze(1)};
}

namespace {

// Key is a 0/1-dimensional tensor of keys or a Scalar: the same arithmetic either way.
template <class Key>
torch::Tensor keyed_bits(const Key& key_a, const Key& key_b, const torch::Tensor& index) {
  auto low = index.bitwise_and(kLow32), high = index.__rshift__(32);
  auto h = mix(low.bitwise_xor(key_a));
  return mix(h.bitwise_xor((high + key_b).bitwise_and(kLow32)));
}

}  // namespace

torch::Tensor counter_bits(const torch::Tensor& key_a, const torch::Tensor& key_b, const torch::Tensor& index) {
  return keyed_bits(key_a, key_b, index);
}

torch::Tensor counter_bits(const CounterKey& key, const torch::Tensor& index) {
  return keyed_bits(c10::Scalar(int64_t{key.a}), c10::Scalar(int64_t{key.b}), index);
}

torch::Tensor counter_uniform(const torch::Tensor& bits) {
  return bits.__rshift__(8).to(torch::kFloat32) * (1.0f / (1 << 24));
}

torch::Tensor counter_normal(const torch::Tensor& bits) {
  // Box-Muller from two 24-bit uniforms: 1 - u in (0, 1] keeps the logarithm finite.
  auto radius = torch::sqrt(torch::log(1.0f - counter_uniform(bits)) * -2.0f);
  auto angle = counter_uniform(mix(bits.bitwise_xor(int64_t{kPairSalt}))) * static_cast<float>(2 * M_PI);
  return radius * torch::cos(angle);
}

torch::Tensor counter_permutation(const CounterKey& key, int64_t rows, const torch::Device& device) {
  require(rows >= 1 && rows < kMaxRows, "a permutation needs from 1 to 2^31 - 1 rows (got " + std::to_string(rows) + ")");
  auto index = torch::arange(rows, torch::TensorOptions().dtype(torch::kInt64).device(device));
  // Sorting (bits, index) packed in one int64 gives a permutation without ties.
  auto order = std::get<0>(torch::sort(counter_bits(key, index).__lshift__(31).bitwise_or(index)));
  return order.bitwise_and(kMaxRows - 1);
}

}  // namespace vae
