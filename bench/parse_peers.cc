#include "bench/parse_peers.h"

#include <cstdarg>
#include <cstring>

#if SIPSHIELD_HAVE_OSIP
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>
#endif

#if SIPSHIELD_HAVE_SOFIA
// sofia's inline tag helpers have unused parameters; its headers are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#pragma GCC diagnostic pop
#endif

namespace sipshield::bench {

// ---------------------------------------------------------------------------------------------
// libosip2

#if SIPSHIELD_HAVE_OSIP

namespace {

void discardOsipTrace(const char* /*file*/, int /*line*/, osip_trace_level_t /*level*/,
                      const char* /*format*/, va_list /*args*/) {}

}  // namespace

bool OsipPeer::available() { return true; }

void OsipPeer::init() {
  // parser_init builds osip's header-name lookup table; it is idempotent but not thread-safe.
  parser_init();
  // Debian builds osip with tracing on: every rejected message would print two lines to
  // stderr inside the timed loop. A shield would not log per packet either.
  // Disabling the levels alone does not stop it (osip 5.3 falls back to stderr when no sink
  // is set), so install a sink that drops the text, then disable every level.
  osip_trace_initialize_func(TRACE_LEVEL0, &discardOsipTrace);
  for (int level = TRACE_LEVEL0; level < END_TRACE_LEVEL; ++level) {
    osip_trace_disable_level(static_cast<osip_trace_level_t>(level));
  }
}

bool OsipPeer::parse(std::string_view message) {
  osip_message_t* sip = nullptr;
  if (osip_message_init(&sip) != 0) {
    return false;
  }
  const int rc = osip_message_parse(sip, message.data(), message.size());
  osip_message_free(sip);
  return rc == 0;
}

PeerCheck OsipPeer::check(std::string_view message) {
  PeerCheck out;
  osip_message_t* sip = nullptr;
  if (osip_message_init(&sip) != 0) {
    out.error = "osip_message_init failed";
    return out;
  }
  if (osip_message_parse(sip, message.data(), message.size()) != 0) {
    out.error = "osip_message_parse returned an error";
    osip_message_free(sip);
    return out;
  }
  const osip_call_id_t* call_id = osip_message_get_call_id(sip);
  if (call_id == nullptr || call_id->number == nullptr) {
    out.error = "no Call-ID";
  } else {
    out.ok = true;
    out.call_id = call_id->number;
    if (call_id->host != nullptr) {
      out.call_id += '@';
      out.call_id += call_id->host;
    }
    // Confirm the headers our full scan parses were parsed by osip too, so the comparison is
    // of like with like.
    if (osip_list_size(&sip->vias) <= 0 || sip->cseq == nullptr || sip->from == nullptr ||
        sip->to == nullptr) {
      out.error = "accepted, but Via/CSeq/From/To missing from the parsed message";
    }
  }
  osip_message_free(sip);
  return out;
}

#else

bool OsipPeer::available() { return false; }
void OsipPeer::init() {}
bool OsipPeer::parse(std::string_view /*message*/) { return false; }
PeerCheck OsipPeer::check(std::string_view /*message*/) {
  return PeerCheck{false, {}, "built without libosip2"};
}

#endif

// ---------------------------------------------------------------------------------------------
// sofia-sip

#if SIPSHIELD_HAVE_SOFIA

namespace {

// parseSofia runs sofia's datagram receive path on a copy of `message` (tport_recv_dgram:
// allocate a msg_t, receive into its buffer, commit with end-of-stream, extract). Returns the
// message (caller destroys it) and msg_extract's result (>0 complete, 0 incomplete, <0 error).
msg_t* parseSofia(std::string_view message, int& extracted) {
  extracted = -1;
  msg_t* msg = msg_create(sip_default_mclass(), 0);
  if (msg == nullptr) {
    return nullptr;
  }
  void* buffer = msg_buf_alloc(msg, message.size() + 1);
  if (buffer == nullptr) {
    return msg;
  }
  std::memcpy(buffer, message.data(), message.size());
  msg_buf_commit(msg, message.size(), 1);
  extracted = msg_extract(msg);
  return msg;
}

}  // namespace

bool SofiaPeer::available() { return true; }

bool SofiaPeer::parse(std::string_view message) {
  int extracted = -1;
  msg_t* msg = parseSofia(message, extracted);
  if (msg == nullptr) {
    return false;
  }
  msg_destroy(msg);
  return extracted > 0;
}

PeerCheck SofiaPeer::check(std::string_view message) {
  PeerCheck out;
  int extracted = -1;
  msg_t* msg = parseSofia(message, extracted);
  if (msg == nullptr) {
    out.error = "msg_create failed";
    return out;
  }
  const sip_t* sip = sip_object(msg);
  if (extracted <= 0) {
    out.error = extracted == 0 ? "msg_extract: incomplete" : "msg_extract: error";
  } else if (sip == nullptr || sip->sip_call_id == nullptr || sip->sip_call_id->i_id == nullptr) {
    out.error = "no Call-ID";
  } else {
    out.ok = true;
    out.call_id = sip->sip_call_id->i_id;
    if (sip->sip_error != nullptr) {
      out.error = "accepted, but sofia could not decode header '";
      out.error += sip->sip_error->er_name != nullptr ? sip->sip_error->er_name : "?";
      out.error += "'";
    } else if (sip->sip_via == nullptr || sip->sip_cseq == nullptr || sip->sip_from == nullptr ||
               sip->sip_to == nullptr) {
      out.error = "accepted, but Via/CSeq/From/To missing from the parsed message";
    }
  }
  msg_destroy(msg);
  return out;
}

#else

bool SofiaPeer::available() { return false; }
bool SofiaPeer::parse(std::string_view /*message*/) { return false; }
PeerCheck SofiaPeer::check(std::string_view /*message*/) {
  return PeerCheck{false, {}, "built without sofia-sip-ua"};
}

#endif

}  // namespace sipshield::bench
