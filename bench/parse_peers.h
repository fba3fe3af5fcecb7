#pragma once

#include <string>
#include <string_view>

namespace sipshield::bench {

// Thin wrappers around the peer C parsers that parse_bench compares the scanner with.
// Each peer is compiled in only when meson found its library (SIPSHIELD_HAVE_OSIP,
// SIPSHIELD_HAVE_SOFIA); without it `available()` is false and every call fails, so the
// benchmark can report the peer as skipped instead of silently timing nothing.
//
// The timed entry points do what a user of that library does per received datagram,
// allocation and free included, because that is the cost the peer really has.

// PeerCheck is the outcome of an untimed verification parse.
struct PeerCheck {
  bool ok = false;      // the peer accepted the whole message
  std::string call_id;  // the Call-ID the peer found (empty when !ok)
  std::string error;    // why the peer rejected it, or a warning (bad headers) when ok
};

// OsipPeer wraps libosip2: osip_message_init + osip_message_parse + osip_message_free.
class OsipPeer {
 public:
  // available is true when the benchmark was built with libosip2.
  [[nodiscard]] static bool available();

  // init calls parser_init() once and turns osip's stderr tracing off; it must run before
  // parse() or check(). Not thread-safe.
  static void init();

  // parse parses `message` into a fresh osip_message_t and frees it. Thread-safe after init().
  // Returns true when osip_message_parse succeeded.
  [[nodiscard]] static bool parse(std::string_view message);

  // check parses `message` like parse() and also returns the Call-ID osip found (number@host).
  // For verification outside timing. Thread-safe after init().
  [[nodiscard]] static PeerCheck check(std::string_view message);
};

// SofiaPeer wraps sofia-sip's datagram path as tport does it: msg_create(sip_default_mclass())
// + msg_buf_alloc + copy into the message buffer + msg_buf_commit(eos) + msg_extract +
// msg_destroy. The copy is part of sofia's model: a msg_t owns the bytes it parses.
class SofiaPeer {
 public:
  // available is true when the benchmark was built with sofia-sip-ua.
  [[nodiscard]] static bool available();

  // parse parses `message` as one datagram into a fresh msg_t and destroys it. Thread-safe.
  // Returns true when msg_extract reported a complete message.
  [[nodiscard]] static bool parse(std::string_view message);

  // check parses `message` like parse() and returns the Call-ID sofia found; headers sofia
  // could not decode (sip_error) are reported in `error` even when the message was accepted.
  // For verification outside timing. Thread-safe.
  [[nodiscard]] static PeerCheck check(std::string_view message);
};

}  // namespace sipshield::bench
