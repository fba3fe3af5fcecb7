#include "src/cli/message_json.h"

#include <string>

#include "parser/via.h"

namespace sipshield::cli {
namespace {

using json = nlohmann::ordered_json;
using parser::ScanStatus;

std::string text(parser::ByteView bytes, parser::Span span) {
  return std::string(bytes.view(span));
}

// JSON strings must be valid UTF-8; captured traffic need not be. Replace what is not.
std::string safeText(parser::ByteView bytes, parser::Span span) {
  std::string s = text(bytes, span);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      c = '?';
    }
  }
  return s;
}

json describeVia(parser::ByteView bytes, const parser::ViaEntry& via) {
  json v = {{"transport", text(bytes, via.transport)},
            {"host", text(bytes, via.host)},
            {"port", via.port}};
  if (!via.branch.empty()) {
    v["branch"] = text(bytes, via.branch);
  }
  if (!via.received.empty()) {
    v["received"] = text(bytes, via.received);
  }
  if (via.has_rport) {
    v["rport"] = via.rport >= 0 ? json(via.rport) : json(true);
  }
  if (!via.ttl.empty()) {
    v["ttl"] = text(bytes, via.ttl);
  }
  if (!via.maddr.empty()) {
    v["maddr"] = text(bytes, via.maddr);
  }
  return v;
}

const char* statusName(ScanStatus status) {
  switch (status) {
    case ScanStatus::Complete:
      return "complete";
    case ScanStatus::Incomplete:
      return "incomplete";
    case ScanStatus::Keepalive:
      return "keepalive";
    case ScanStatus::Invalid:
      break;
  }
  return "invalid";
}

}  // namespace

json describeMessage(parser::ByteView bytes, const parser::SipMessage& message,
                     const parser::SipSummary& summary, parser::ScanResult result) {
  if (result.status == ScanStatus::Keepalive) {
    return {{"kind", "keepalive"}, {"bytes", result.consumed}};
  }
  if (result.status != ScanStatus::Complete) {
    return {{"verdict", std::string(parser::scanErrorName(result.error))},
            {"status", statusName(result.status)},
            {"offset", result.error_offset}};
  }
  json m;
  if (message.isRequest()) {
    m["kind"] = "request";
    m["method"] = safeText(bytes, message.method_token);
    m["request_uri"] = safeText(bytes, message.request_uri);
  } else {
    m["kind"] = "response";
    m["status"] = message.status_code;
    m["reason"] = safeText(bytes, message.reason_phrase);
  }
  m["call_id"] = safeText(bytes, summary.call_id);
  m["cseq"] = {{"number", summary.cseq.number},
               {"method", safeText(bytes, summary.cseq.method_token)}};
  json vias = json::array();
  parser::ViaCursor cursor(bytes, message);
  parser::ViaEntry via;
  while (cursor.next(via)) {
    vias.push_back(describeVia(bytes, via));
  }
  m["via"] = vias;
  m["from_tag"] = safeText(bytes, summary.from_tag);
  m["to_tag"] = safeText(bytes, summary.to_tag);
  if (summary.max_forwards >= 0) {
    m["max_forwards"] = summary.max_forwards;
  }
  m["content_length"] = message.content_length >= 0 ? json(message.content_length) : json(nullptr);
  m["body_length"] = message.body_length;
  m["headers"] = message.header_count;
  return m;
}

}  // namespace sipshield::cli
