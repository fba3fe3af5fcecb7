#include "src/cli/scan_command.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "parser/validate.h"
#include "src/cli/message_json.h"
#include "src/net/capture_reader.h"

namespace sipshield::cli {
namespace {

struct Totals {
  uint64_t messages = 0;
  uint64_t invalid = 0;
};

void printOne(parser::ByteView bytes, parser::ScanResult result,
              const parser::ParsedMessage<parser::kDefaultHeaderCapacity>& parsed,
              const parser::SipSummary& summary, nlohmann::ordered_json context, std::ostream& out,
              Totals& totals) {
  nlohmann::ordered_json line = std::move(context);
  line.update(describeMessage(bytes, parsed.message, summary, result));
  out << line.dump() << '\n';
  ++totals.messages;
  if (result.status != parser::ScanStatus::Complete &&
      result.status != parser::ScanStatus::Keepalive) {
    ++totals.invalid;
  }
}

// A file of raw SIP: one datagram-style message, or several back to back (each with a
// Content-Length, as on a stream); the last one may rely on the file's end as its end.
void scanRawFile(const std::string& path, const std::string& data, std::ostream& out,
                 Totals& totals) {
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  size_t offset = 0;
  int index = 0;
  while (offset < data.size()) {
    parser::ByteView rest(data.data() + offset, data.size() - offset);
    parser::ScanResult result = parser::scanAndValidate(
        rest, parsed.message, summary, {0xFFFFFFFFu, parser::Framing::Stream});
    if (result.error == parser::ScanError::MissingContentLength ||
        result.status == parser::ScanStatus::Incomplete) {
      result = parser::scanAndValidate(rest, parsed.message, summary);
    }
    nlohmann::ordered_json context = {{"file", path}, {"index", index++}, {"file_offset", offset}};
    printOne(rest, result, parsed, summary, std::move(context), out, totals);
    if ((result.status != parser::ScanStatus::Complete &&
         result.status != parser::ScanStatus::Keepalive) ||
        result.consumed == 0) {
      return;  // framing is lost after an invalid message: nothing after it can be trusted
    }
    offset += result.consumed;
  }
}

int scanCapture(const std::string& path, std::ostream& out, std::ostream& err, Totals& totals) {
  auto reader = net::CaptureReader::open(path);
  if (!reader.isOk()) {
    err << "sipshield scan: " << reader.status().message() << '\n';
    return 2;
  }
  parser::ParsedMessage<parser::kDefaultHeaderCapacity> parsed;
  parser::SipSummary summary;
  net::UdpDatagram datagram;
  uint64_t timestamp = 0;
  int index = 0;
  while ((*reader)->next(datagram, timestamp)) {
    parser::ByteView bytes(datagram.payload, datagram.length);
    parser::ScanResult result = parser::scanAndValidate(bytes, parsed.message, summary);
    nlohmann::ordered_json context = {{"file", path},
                              {"index", index++},
                              {"time_ns", timestamp},
                              {"src", datagram.source.toString()},
                              {"dst", datagram.destination.toString()},
                              {"ttl", datagram.ttl}};
    printOne(bytes, result, parsed, summary, std::move(context), out, totals);
  }
  if ((*reader)->fragments() > 0) {
    err << "sipshield scan: " << path << ": " << (*reader)->fragments()
        << " IP fragments not reassembled\n";
  }
  return 0;
}

}  // namespace

int runScan(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  if (files.empty()) {
    err << "sipshield scan: no input files (usage: sipshield scan FILE...)\n";
    return 2;
  }
  Totals totals;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      err << "sipshield scan: cannot read " << path << '\n';
      return 2;
    }
    if (net::CaptureReader::isCaptureFile(path)) {
      if (int status = scanCapture(path, out, err, totals); status != 0) {
        return status;
      }
      continue;
    }
    std::ostringstream data;
    data << in.rdbuf();
    if (in.bad()) {
      err << "sipshield scan: error reading " << path << '\n';
      return 2;
    }
    scanRawFile(path, data.str(), out, totals);
  }
  return totals.invalid == 0 ? 0 : 1;
}

}  // namespace sipshield::cli
