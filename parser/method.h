#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sipshield::parser {

// SIP methods of RFC 3261 and its common extensions. Method names are case-sensitive
// (RFC 3261 §7.1): "invite" is a valid extension method, not INVITE.
#define SIPSHIELD_METHODS(X) \
  X(Invite, "INVITE")        \
  X(Ack, "ACK")              \
  X(Bye, "BYE")              \
  X(Cancel, "CANCEL")        \
  X(Register, "REGISTER")    \
  X(Options, "OPTIONS")      \
  X(Prack, "PRACK")          \
  X(Subscribe, "SUBSCRIBE")  \
  X(Notify, "NOTIFY")        \
  X(Publish, "PUBLISH")      \
  X(Info, "INFO")            \
  X(Refer, "REFER")          \
  X(Message, "MESSAGE")      \
  X(Update, "UPDATE")

// Method is a request method; Other marks a valid extension method (its token is in the span).
enum class Method : uint8_t {
#define SIPSHIELD_METHOD_ENUM(name, text) name,
  SIPSHIELD_METHODS(SIPSHIELD_METHOD_ENUM)
#undef SIPSHIELD_METHOD_ENUM
  Other,
};

namespace detail {

// The known method names, for classifyMethod.
inline constexpr std::string_view kMethodNames[] = {
#define SIPSHIELD_METHOD_NAME(name, text) text,
    SIPSHIELD_METHODS(SIPSHIELD_METHOD_NAME)
#undef SIPSHIELD_METHOD_NAME
};

// (first letter & 31, length) picks the one candidate a token can be: no two known methods
// share both (checked at compile time), so a lookup is one table load and one compare.
inline constexpr size_t kMaxMethodLength = 15;
constexpr size_t methodSlot(char first, size_t length) {
  return (static_cast<size_t>(static_cast<unsigned char>(first)) & 31) * (kMaxMethodLength + 1) +
         length;
}

// MethodWords is a known name as classifyMethod compares it: its first and its last `k` bytes
// as little-endian words, k = 8 for 8 letters or more, 4 for 4..7, 2 for 2..3 (the two words
// overlap and together cover the name).
struct MethodWords {
  uint64_t head = 0;
  uint64_t tail = 0;
};

constexpr uint64_t methodWordAt(std::string_view name, size_t at, size_t k) {
  uint64_t word = 0;
  for (size_t i = k; i-- > 0;) {
    word = word << 8 | static_cast<unsigned char>(name[at + i]);
  }
  return word;
}

constexpr size_t methodWordSize(size_t length) { return length >= 8 ? 8 : length >= 4 ? 4 : 2; }

inline constexpr size_t kMethodCount = std::size(kMethodNames);

struct MethodTable {
  uint8_t slot[32 * (kMaxMethodLength + 1)];  // the candidate Method, kMethodCount when none
  MethodWords words[kMethodCount];            // per Method
  alignas(16) char text[kMethodCount][16];   // per Method: the name, zero padded
};

constexpr MethodTable makeMethodTable() {
  MethodTable t{};
  for (uint8_t& slot : t.slot) {
    slot = static_cast<uint8_t>(kMethodCount);
  }
  for (size_t i = 0; i < kMethodCount; ++i) {
    const std::string_view name = kMethodNames[i];
    const size_t k = methodWordSize(name.size());
    t.slot[methodSlot(name[0], name.size())] = static_cast<uint8_t>(i);
    t.words[i] = {methodWordAt(name, 0, k), methodWordAt(name, name.size() - k, k)};
    for (size_t j = 0; j < name.size(); ++j) {
      t.text[i][j] = name[j];
    }
  }
  return t;
}

// Hidden: the inline classifyMethod then reads it PC-relative, without a GOT load.
[[gnu::visibility("hidden")]] inline constexpr MethodTable kMethodTable = makeMethodTable();

constexpr bool methodSlotsUnique() {
  for (size_t i = 0; i < kMethodCount; ++i) {
    const std::string_view name = kMethodNames[i];
    if (name.size() < 2 || name.size() > kMaxMethodLength ||
        kMethodTable.slot[methodSlot(name[0], name.size())] != i) {
      return false;
    }
  }
  return true;
}
static_assert(methodSlotsUnique(), "two methods share a first letter and length");

// The table's words are little-endian, as loadMethodWord reads them on this host.
static_assert(std::endian::native == std::endian::little,
              "classifyMethod's word compares assume a little-endian host");

// loadMethodWord reads the `k` (8, 4 or 2) bytes at `p` as a little-endian word.
inline uint64_t loadMethodWord(const char* p, size_t k) {
  if (k == 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  if (k == 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  }
  uint16_t w;
  std::memcpy(&w, p, 2);
  return w;
}

}  // namespace detail

// classifyMethod maps a method token (case-sensitive) to its Method; unknown gives Other.
// Reads only the token's bytes: two (overlapping) word compares against the one candidate.
// Thread-safe.
[[nodiscard]] inline Method classifyMethod(std::string_view token) {
  const size_t length = token.size();
  if (length < 2 || length > detail::kMaxMethodLength) {
    return Method::Other;
  }
  const uint8_t candidate = detail::kMethodTable.slot[detail::methodSlot(token[0], length)];
  if (candidate == detail::kMethodCount) {
    return Method::Other;
  }
  // The slot holds only names of this length.
  const detail::MethodWords& w = detail::kMethodTable.words[candidate];
  const size_t k = detail::methodWordSize(length);
  const uint64_t head = detail::loadMethodWord(token.data(), k);
  const uint64_t tail = detail::loadMethodWord(token.data() + length - k, k);
  return ((head ^ w.head) | (tail ^ w.tail)) == 0 ? static_cast<Method>(candidate) : Method::Other;
}

namespace detail {

// classifyMethodPadded is classifyMethod for the `length` bytes at `token` when 16 bytes from
// `token` are readable (a request line's method, followed by the rest of the line and its
// CRLF): one 16-byte compare against the one candidate, whatever the length, instead of two
// word loads whose width depends on it.
inline Method classifyMethodPadded(const char* token, size_t length) {
#if defined(__SSE2__)
  if (length < 2 || length > kMaxMethodLength) {
    return Method::Other;
  }
  const uint8_t candidate = kMethodTable.slot[methodSlot(token[0], length)];
  if (candidate == kMethodCount) {
    return Method::Other;
  }
  const __m128i name =
      _mm_load_si128(reinterpret_cast<const __m128i*>(kMethodTable.text[candidate]));
  const auto equal = static_cast<uint32_t>(_mm_movemask_epi8(
      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(token)), name)));
  // The slot holds only names of this length: its first `length` bytes must match.
  const uint32_t mask = (1u << length) - 1;
  return (equal & mask) == mask ? static_cast<Method>(candidate) : Method::Other;
#else
  return classifyMethod(std::string_view(token, length));
#endif
}

}  // namespace detail

// methodName returns the token of a known method, "OTHER" for Method::Other.
[[nodiscard]] std::string_view methodName(Method method);

}  // namespace sipshield::parser
