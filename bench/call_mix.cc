#include "bench/call_mix.h"

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "parser/sip_message.h"

namespace sipshield::bench {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

parser::ByteView view(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Lines is the header index of one message, for editing its text.
struct Lines {
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  bool ok = false;

  explicit Lines(const std::string& text) {
    ok = parser::scan(view(text), parsed.message).status == parser::ScanStatus::Complete;
  }
  // line returns [name, end of value) of header `i`.
  [[nodiscard]] std::pair<size_t, size_t> line(uint32_t i) const {
    const parser::HeaderField& h = parsed.message.headers[i];
    return {h.name.offset, h.value.offset + h.value.length};
  }
};

// withCallId returns `text` with its Call-ID value replaced by `call_id`.
std::optional<std::string> withCallId(const std::string& text, const std::string& call_id) {
  Lines lines(text);
  const parser::HeaderField* h = lines.ok ? lines.parsed.message.first(parser::HeaderId::CallId)
                                          : nullptr;
  if (h == nullptr) {
    return std::nullopt;
  }
  std::string out = text;
  out.replace(h->value.offset, h->value.length, call_id);
  return out;
}

// viaLines returns every Via line of `text` (CRLF-terminated), in order.
std::string viaLines(const std::string& text) {
  Lines lines(text);
  std::string out;
  for (uint32_t i = 0; lines.ok && i < lines.parsed.message.header_count; ++i) {
    if (lines.parsed.message.headers[i].id == parser::HeaderId::Via) {
      const auto [from, to] = lines.line(i);
      out += text.substr(from, to - from) + "\r\n";
    }
  }
  return out;
}

// withVias returns `text` with its Via lines replaced by `vias` (where the first one was).
std::optional<std::string> withVias(const std::string& text, const std::string& vias) {
  Lines lines(text);
  if (!lines.ok || vias.empty()) {
    return std::nullopt;
  }
  std::string out;
  size_t copied = 0;
  bool inserted = false;
  for (uint32_t i = 0; i < lines.parsed.message.header_count; ++i) {
    if (lines.parsed.message.headers[i].id != parser::HeaderId::Via) {
      continue;
    }
    const auto [from, to] = lines.line(i);
    out += text.substr(copied, from - copied);
    if (!inserted) {
      out += vias;
      inserted = true;
    }
    copied = to + 2;  // the CRLF
  }
  if (!inserted) {
    return std::nullopt;
  }
  return out + text.substr(copied);
}

// Forwarded is where the pipeline sent a request and what it sent.
struct Forwarded {
  net::Endpoint to;
  std::string payload;
};

std::optional<Forwarded> forward(Pipeline& pipeline, const net::Endpoint& client,
                                 const std::string& request) {
  RxPacket packet;
  packet.data = reinterpret_cast<const uint8_t*>(request.data());
  packet.length = static_cast<uint32_t>(request.size());
  packet.source = client;
  TxBatch tx(4);
  pipeline.processBurst(std::span<const RxPacket>(&packet, 1), tx, 1'000'000'000);
  if (tx.size() != 1) {
    return std::nullopt;
  }
  const TxPacket& out = tx.ready()[0];
  return Forwarded{out.destination,
                   std::string(reinterpret_cast<const char*>(out.data), out.length)};
}

}  // namespace

std::vector<Offered> fromClient(const std::vector<std::string>& messages,
                                const net::Endpoint& client) {
  std::vector<Offered> out;
  out.reserve(messages.size());
  for (const std::string& m : messages) {
    out.push_back({client, m});
  }
  return out;
}

std::vector<Offered> callMix(size_t calls, const std::string& corpus_dir,
                             const net::Endpoint& client, Pipeline& pipeline) {
  const char* kFiles[] = {"01_invite_sdp.sip", "02_100_trying.sip",       "03_180_ringing.sip",
                          "04_200_ok_invite_sdp.sip", "05_ack.sip", "06_bye.sip",
                          "07_200_ok_bye.sip"};
  std::vector<std::string> templates;
  for (const char* file : kFiles) {
    templates.push_back(readFile(corpus_dir + "/" + file));
    if (templates.back().empty()) {
      std::fprintf(stderr, "callMix: cannot read %s/%s\n", corpus_dir.c_str(), file);
      return {};
    }
  }
  std::vector<Offered> out;
  out.reserve(calls * 7);
  for (size_t call = 0; call < calls; ++call) {
    char id[48];
    std::snprintf(id, sizeof(id), "mix-%08zu@198.18.0.2", call);
    std::optional<std::string> message[7];
    for (size_t k = 0; k < 7; ++k) {
      message[k] = withCallId(templates[k], id);
    }
    const std::optional<Forwarded> invite =
        message[0] ? forward(pipeline, client, *message[0]) : std::nullopt;
    const std::optional<Forwarded> bye =
        message[5] ? forward(pipeline, client, *message[5]) : std::nullopt;
    if (!invite || !bye) {
      std::fprintf(stderr, "callMix: the pipeline did not forward call %zu\n", call);
      return {};
    }
    const std::string invite_vias = viaLines(invite->payload);
    const std::string bye_vias = viaLines(bye->payload);
    const std::optional<std::string> trying = withVias(message[1].value_or(""), invite_vias);
    const std::optional<std::string> ringing = withVias(message[2].value_or(""), invite_vias);
    const std::optional<std::string> ok = withVias(message[3].value_or(""), invite_vias);
    const std::optional<std::string> bye_ok = withVias(message[6].value_or(""), bye_vias);
    if (!trying || !ringing || !ok || !message[4] || !bye_ok) {
      std::fprintf(stderr, "callMix: cannot build the messages of call %zu\n", call);
      return {};
    }
    out.push_back({client, *message[0]});
    out.push_back({invite->to, *trying});
    out.push_back({invite->to, *ringing});
    out.push_back({invite->to, *ok});
    out.push_back({client, *message[4]});
    out.push_back({client, *message[5]});
    out.push_back({bye->to, *bye_ok});
  }
  return out;
}

}  // namespace sipshield::bench
