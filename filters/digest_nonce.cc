#include "filters/digest_nonce.h"

#include <cstddef>

namespace sipshield::filters {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
    y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
    if (x != y) {
      return false;
    }
  }
  return true;
}

size_t skipSpace(std::string_view v, size_t i) {
  while (i < v.size() && isSpace(v[i])) {
    ++i;
  }
  return i;
}

}  // namespace

bool findDigestNonce(std::string_view value, std::string_view& nonce) {
  size_t i = skipSpace(value, 0);
  // auth-scheme token (RFC 2617 §1.2): only Digest carries a nonce.
  const size_t scheme_start = i;
  while (i < value.size() && !isSpace(value[i]) && value[i] != ',') {
    ++i;
  }
  if (!equalsNoCase(value.substr(scheme_start, i - scheme_start), "digest")) {
    return false;
  }
  while (i < value.size()) {
    i = skipSpace(value, i);
    if (i < value.size() && value[i] == ',') {
      ++i;
      continue;
    }
    // auth-param = token LWS "=" LWS ( token / quoted-string )
    const size_t name_start = i;
    while (i < value.size() && value[i] != '=' && value[i] != ',' && !isSpace(value[i])) {
      ++i;
    }
    const std::string_view name = value.substr(name_start, i - name_start);
    i = skipSpace(value, i);
    if (i >= value.size() || value[i] != '=') {
      continue;  // a bare token (or a second scheme): not an auth-param we want
    }
    i = skipSpace(value, i + 1);
    std::string_view param;
    if (i < value.size() && value[i] == '"') {
      const size_t start = ++i;
      bool closed = false;
      while (i < value.size()) {
        if (value[i] == '\\') {
          i += 2;  // quoted-pair: the escaped byte cannot end the string
          continue;
        }
        if (value[i] == '"') {
          closed = true;
          break;
        }
        ++i;
      }
      if (!closed) {
        return false;
      }
      param = value.substr(start, i - start);
      ++i;
    } else {
      const size_t start = i;
      while (i < value.size() && value[i] != ',' && !isSpace(value[i])) {
        ++i;
      }
      param = value.substr(start, i - start);
    }
    if (equalsNoCase(name, "nonce")) {
      if (param.empty()) {
        return false;
      }
      nonce = param;
      return true;
    }
  }
  return false;
}

}  // namespace sipshield::filters
