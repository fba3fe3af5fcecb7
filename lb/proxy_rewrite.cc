#include "lb/proxy_rewrite.h"


namespace sipshield::lb {

using parser::ByteView;
using parser::HeaderField;
using parser::HeaderId;
using parser::Span;

parser::Span headerLine(ByteView input, const HeaderField& field) {
  uint32_t end = field.value.end();
  while (end + 1 < input.size && !(input.data[end] == '\r' && input.data[end + 1] == '\n')) {
    ++end;
  }
  end = end + 2 <= input.size ? end + 2 : static_cast<uint32_t>(input.size);
  return {field.name.offset, end - field.name.offset};
}

size_t rewriteRequest(ByteView input, const parser::SipMessage& message,
                      const parser::SipSummary& summary, RequestEdits& edits,
                      MessageEditor& editor, uint8_t* out, size_t capacity) {
  if (!prepareRequest(message, summary, edits, editor)) {
    return 0;
  }
  return editor.write(input, out, capacity);
}

bool prepareRequest(const parser::SipMessage& message,
                    const parser::SipSummary& summary, RequestEdits& edits,
                    MessageEditor& editor) {
  editor.clear();
  bool ok = true;
  const uint32_t after_start_line = message.start_line.end() + 2;
  editor.insert(after_start_line, edits.via_line);
  if (!edits.record_route_line.empty()) {
    editor.insert(after_start_line, edits.record_route_line);
  }

  // RFC 3581 §4 / RFC 3261 §18.2.1: tell the next hop where the request really came from.
  const parser::ViaEntry& top = summary.top_via;
  char* rport_text = edits.rport_text;
  if (edits.rport >= 0 && top.has_rport && top.rport < 0) {
    int n = 0;
    const char prefix[] = "rport=";
    for (char c : std::string_view(prefix, 6)) {
      rport_text[n++] = c;
    }
    char reversed[6];
    int r = 0;
    uint32_t port = static_cast<uint32_t>(edits.rport);
    do {
      reversed[r++] = static_cast<char>('0' + port % 10);
      port /= 10;
    } while (port != 0);
    while (r > 0) {
      rport_text[n++] = reversed[--r];
    }
    editor.replace(top.rport_param.offset, top.rport_param.length,
                   std::string_view(rport_text, static_cast<size_t>(n)));
  }
  char* received_text = edits.received_text;
  if (!edits.received.empty()) {
    if (!top.received.empty()) {
      editor.replace(top.received.offset, top.received.length, edits.received);
    } else if (edits.received.size() + 10 <= sizeof(edits.received_text)) {
      size_t n = 0;
      for (char c : std::string_view(";received=")) {
        received_text[n++] = c;
      }
      for (char c : edits.received) {
        received_text[n++] = c;
      }
      editor.insert(top.whole.end(), std::string_view(received_text, n));
    }
  }

  // §16.6 step 3: decrement Max-Forwards, or add it.
  if (const HeaderField* mf = message.first(HeaderId::MaxForwards)) {
    int hops = summary.max_forwards - 1;
    int n = 0;
    if (hops >= 100) {
      edits.max_forwards_text[n++] = static_cast<char>('0' + hops / 100);
    }
    if (hops >= 10) {
      edits.max_forwards_text[n++] = static_cast<char>('0' + (hops / 10) % 10);
    }
    edits.max_forwards_text[n++] = static_cast<char>('0' + hops % 10);
    const std::string_view decremented(edits.max_forwards_text, static_cast<size_t>(n));
    // A repeated Max-Forwards line passes the scan only with the same value (RFC 3261
    // §7.3.1); decrement every one, or the next hop would see two different values.
    uint32_t left = message.occurrences[static_cast<int>(HeaderId::MaxForwards)];
    for (const HeaderField* line = mf; line < message.headers + message.header_count && left > 0;
         ++line) {
      if (line->id == HeaderId::MaxForwards) {
        ok = editor.replace(line->value.offset, line->value.length, decremented) && ok;
        --left;
      }
    }
  } else {
    editor.insert(after_start_line, "Max-Forwards: 70\r\n");
  }

  for (uint8_t i = 0; i < edits.route_cut_count && i < edits.route_cuts.size(); ++i) {
    ok = editor.remove(edits.route_cuts[i]) && ok;
  }
  return ok && editor.size() > 0;
}

bool topViaRemoval(ByteView input, const parser::SipMessage& message,
                   const parser::SipSummary& summary, Span& cut) {
  const HeaderField* top_line = message.first(HeaderId::Via);
  if (summary.via_count < 2 || top_line == nullptr) {
    return false;
  }
  const parser::ViaEntry& top = summary.top_via;
  const parser::ViaEntry& second = summary.second_via;
  // The second via-parm shares the top one's line (its value, continuation lines included)
  // or starts a later Via line.
  if (second.whole.offset < top_line->value.end()) {
    cut = {top.whole.offset, second.whole.offset - top.whole.offset};
  } else {
    cut = headerLine(input, *top_line);
  }
  return true;
}

size_t rewriteResponse(ByteView input, Span cut, MessageEditor& editor, uint8_t* out,
                       size_t capacity) {
  if (!prepareResponse(cut, editor)) {
    return 0;
  }
  return editor.write(input, out, capacity);
}

bool prepareResponse(Span cut, MessageEditor& editor) {
  editor.clear();
  return editor.remove(cut);
}

}  // namespace sipshield::lb
