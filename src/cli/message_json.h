#pragma once

#include <nlohmann/json.hpp>

#include "parser/sip_message.h"
#include "parser/validate.h"

namespace sipshield::cli {

// describeMessage renders a scanned message as the JSON object `sipshield scan` prints:
// kind, method or status, Request-URI, Call-ID, CSeq, every Via with its parameters,
// From/To tags, Content-Length and body length. `result` decides between that and a verdict
// object {verdict, status, offset}. Not for the fast path (it allocates).
nlohmann::ordered_json describeMessage(parser::ByteView bytes, const parser::SipMessage& message,
                               const parser::SipSummary& summary, parser::ScanResult result);

}  // namespace sipshield::cli
