#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "parser/scan_kernel.h"
#include "parser/sip_message.h"
#include "parser/validate.h"
#include "tests/parser/test_util.h"

namespace sipshield::parser {
namespace {

using testing::corpusPath;
using testing::messagePath;
using testing::readFile;
using testing::Scanned;

// One row per stored message: what the scan must find in it.
struct CorpusRow {
  const char* file;
  MessageKind kind;
  const char* method_or_status;
  const char* request_uri;
  const char* call_id;
  uint32_t cseq;
  const char* cseq_method;
  uint16_t via_count;
  const char* top_branch;
  const char* top_host;
  uint16_t top_port;
  const char* from_tag;
  const char* to_tag;
  int64_t content_length;  // -1: header absent
  uint32_t body_length;
  int max_forwards;
};

const CorpusRow kCorpus[] = {
    {"01_invite_sdp.sip", MessageKind::Request, "INVITE", "sip:4155550142@203.0.113.45:5060",
     "a84b4c76e66710b2c9f1d7e3@192.168.14.37", 20, "INVITE", 3, "z9hG4bK7e1c0a.3f9b2d44a0e1",
     "203.0.113.41", 5060, "9fxced76sl", "", 234, 234, 67},
    {"02_100_trying.sip", MessageKind::Response, "100", "",
     "a84b4c76e66710b2c9f1d7e3@192.168.14.37", 20, "INVITE", 3, nullptr, nullptr, 0,
     "9fxced76sl", "", 0, 0, -1},
    {"05_ack.sip", MessageKind::Request, "ACK", nullptr, "a84b4c76e66710b2c9f1d7e3@192.168.14.37",
     20, "ACK", 0, nullptr, nullptr, 0, "9fxced76sl", nullptr, 0, 0, -2},
    {"13_cancel.sip", MessageKind::Request, "CANCEL", "sip:4155550142@203.0.113.45:5060",
     "a84b4c76e66710b2c9f1d7e3@192.168.14.37", 20, "CANCEL", 1, "z9hG4bK7e1c0a.3f9b2d44a0e1",
     "203.0.113.41", 5060, "9fxced76sl", "", 0, 0, 70},
    {"14_compact_message.sip", MessageKind::Request, "MESSAGE", "sip:oskar@voice.kestrel.example",
     "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@mobile-7.kestrel.example", 5, "MESSAGE", 2,
     "z9hG4bKnashds7", "[2001:db8:4a::17]", 49152, "ab30c7", "", 40, 40, 69},
    {"15_folded_subscribe.sip", MessageKind::Request, "SUBSCRIBE",
     "sip:oskar@voice.kestrel.example", "1a2b3c4d5e6f@ws-desk-12.kestrel.example", 101,
     "SUBSCRIBE", 1, "z9hG4bK74bf9.a1", "192.0.2.61", 5060, "4fa3", "", 0, 0, 70},
    {"16_486_multivia_line.sip", MessageKind::Response, "486", "", "NDM2ZjNhNzU4ZmQ0YjJlYzE4YzRhNWQ2",
     102, "INVITE", 3, "z9hG4bK0d5e.77a1f3c2", "203.0.113.41", 5060, "1893465712", "as0a2bc3d4", 0,
     0, -1},
    {"17_scanner_options.sip", MessageKind::Request, "OPTIONS", "sip:100@203.0.113.45",
     "1283946571385291406719023", 1, "OPTIONS", 1, "z9hG4bK-2158733047", "127.0.1.1", 5069,
     "3635623362316465313363340131353834383738323935", "", 0, 0, 70},
    {"ipv6_invite.sip", MessageKind::Request, "INVITE",
     "sip:bob@[2001:db8::20]:5060;transport=udp", "v6-call-1@2001:db8::10", 1, "INVITE", 2,
     "z9hG4bKv6a1", "[2001:db8::10]", 5070, "v6from", "", 0, 0, 70},
    {"spaced_via_params.sip", MessageKind::Request, "OPTIONS", "sip:carrier.example", "opt-777", 9,
     "OPTIONS", 1, "z9hG4bKsp1", "host-a.example", 5080, "t1", "", 0, 0, 0},
    {"response_no_reason.sip", MessageKind::Response, "100", "", "nr-1", 3, "INVITE", 1,
     "z9hG4bKnoreason", "198.51.100.7", 5060, "1", "", 0, 0, -1},
    {"no_content_length.sip", MessageKind::Request, "MESSAGE", "sip:bob@example.com", "ncl-1", 1,
     "MESSAGE", 1, "z9hG4bKncl", "192.0.2.9", 0, "1", "", -1, 16, 70},
    {"extension_method.sip", MessageKind::Request, "FOOBAR", "sip:svc@example.com", "ext-1", 1,
     "FOOBAR", 1, "z9hG4bKext", "df7jal23ls0d.invalid", 0, "1", "", 0, 0, 70},
};

std::string loadRow(const CorpusRow& row) {
  std::string bytes = readFile(corpusPath(row.file));
  return bytes.empty() ? readFile(messagePath(row.file)) : bytes;
}

class CorpusTest : public ::testing::TestWithParam<CorpusRow> {};

TEST_P(CorpusTest, FieldsMatch) {
  const CorpusRow& row = GetParam();
  std::string bytes = loadRow(row);
  ASSERT_FALSE(bytes.empty()) << row.file;
  Scanned s;
  ScanResult r = s.run(bytes);
  ASSERT_EQ(r.status, ScanStatus::Complete)
      << row.file << ": " << scanErrorName(r.error) << " at " << r.error_offset;
  const char* b = bytes.data();
  const SipMessage& m = s.msg();
  EXPECT_EQ(m.kind, row.kind);
  if (row.kind == MessageKind::Request) {
    EXPECT_EQ(m.method_token.view(b), row.method_or_status);
    if (row.request_uri != nullptr) {
      EXPECT_EQ(m.request_uri.view(b), row.request_uri);
    }
  } else {
    EXPECT_EQ(std::to_string(m.status_code), row.method_or_status);
  }
  EXPECT_EQ(s.summary.call_id.view(b), row.call_id);
  EXPECT_EQ(s.summary.cseq.number, row.cseq);
  EXPECT_EQ(s.summary.cseq.method_token.view(b), row.cseq_method);
  if (row.via_count != 0) {
    EXPECT_EQ(s.summary.via_count, row.via_count);
  }
  if (row.top_branch != nullptr) {
    EXPECT_EQ(s.summary.top_via.branch.view(b), row.top_branch);
    EXPECT_EQ(s.summary.top_via.host.view(b), row.top_host);
    EXPECT_EQ(s.summary.top_via.port, row.top_port);
  }
  EXPECT_EQ(s.summary.from_tag.view(b), row.from_tag);
  if (row.to_tag != nullptr) {
    EXPECT_EQ(s.summary.to_tag.view(b), row.to_tag);
  }
  EXPECT_EQ(m.content_length, row.content_length);
  EXPECT_EQ(m.body_length, row.body_length);
  EXPECT_EQ(r.consumed, bytes.size());
  if (row.max_forwards != -2) {
    EXPECT_EQ(s.summary.max_forwards, row.max_forwards);
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, ::testing::ValuesIn(kCorpus));

// Every stored message scans Complete, and INDEX.tsv's Call-ID and size agree.
TEST(Scan, WholeSharedCorpusMatchesIndex) {
  std::string index = readFile(corpusPath("INDEX.tsv"));
  std::istringstream lines(index);
  std::string line;
  std::getline(lines, line);  // header row
  int rows = 0;
  while (std::getline(lines, line)) {
    std::istringstream cols(line);
    std::string file, kind, what, call_id, size;
    std::getline(cols, file, '\t');
    std::getline(cols, kind, '\t');
    std::getline(cols, what, '\t');
    std::getline(cols, call_id, '\t');
    std::getline(cols, size, '\t');
    std::string bytes = readFile(corpusPath(file));
    Scanned s;
    ScanResult r = s.run(bytes);
    ASSERT_TRUE(r.ok()) << file << ": " << scanErrorName(r.error) << " at " << r.error_offset;
    EXPECT_EQ(s.summary.call_id.view(bytes.data()), call_id) << file;
    EXPECT_EQ(std::to_string(bytes.size()), size) << file;
    EXPECT_EQ(s.msg().kind == MessageKind::Request ? "request" : "response", kind) << file;
    ++rows;
  }
  EXPECT_EQ(rows, 18);
}

// Folded values keep their continuation lines; compact names map to the full header.
TEST(Scan, FoldingAndCompactForms) {
  std::string bytes = readFile(corpusPath("15_folded_subscribe.sip"));
  Scanned s;
  ASSERT_TRUE(s.run(bytes).ok());
  const char* b = bytes.data();
  const HeaderField* accept = s.msg().first(HeaderId::Accept);
  ASSERT_NE(accept, nullptr);
  EXPECT_EQ(accept->value.view(b),
            "application/pidf+xml,\r\n  application/xpidf+xml,\r\n\tmultipart/related");
  const HeaderField* from = s.msg().first(HeaderId::From);
  EXPECT_EQ(from->value.view(b),
            "\"Front Desk\"\r\n\t<sip:frontdesk@voice.kestrel.example>;tag=4fa3");
  EXPECT_EQ(s.msg().first(HeaderId::Subject)->value.view(b),
            "watch list for the\r\n  reception console");

  std::string compact = readFile(corpusPath("14_compact_message.sip"));
  Scanned c;
  ASSERT_TRUE(c.run(compact).ok());
  EXPECT_EQ(c.msg().occurrences[static_cast<int>(HeaderId::Via)], 2);
  EXPECT_EQ(c.msg().first(HeaderId::Supported)->value.view(compact.data()), "path, norefersub");
  EXPECT_EQ(c.msg().first(HeaderId::ContentType)->value.view(compact.data()),
            "text/plain;charset=UTF-8");
  EXPECT_EQ(c.msg().first(HeaderId::Contact)->name.view(compact.data()), "m");
}

// Every proper prefix of a valid message is Incomplete (STYLE.md, picohttpparser test.c), for
// every kernel.
TEST(Scan, EveryProperPrefixIsIncomplete) {
  for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
    if (!setScanIsa(isa)) {
      continue;
    }
    for (const CorpusRow& row : kCorpus) {
      std::string bytes = loadRow(row);
      if (row.content_length < 0) {
        continue;  // without Content-Length a datagram's body ends where the datagram does
      }
      for (size_t n = 0; n < bytes.size(); ++n) {
        std::string prefix = bytes.substr(0, n);  // own allocation: ASan sees over-reads
        ParsedMessage<kDefaultHeaderCapacity> p;
        ScanResult r = scan(ByteView(prefix), p.message);
        ASSERT_EQ(r.status, ScanStatus::Incomplete)
            << row.file << " prefix " << n << " isa " << scanIsaName(isa) << " got "
            << scanErrorName(r.error);
      }
    }
  }
  setScanIsa(bestScanIsa());
}

// Stream framing: a message is found at the start of a longer buffer, the rest is left.
TEST(Scan, StreamFramingConsumesOneMessage) {
  std::string one = readFile(corpusPath("01_invite_sdp.sip"));
  std::string two = "\r\n\r\n" + one + readFile(corpusPath("06_bye.sip"));
  ScanLimits stream{65535, Framing::Stream};
  ParsedMessage<kDefaultHeaderCapacity> p;
  ScanResult r = scan(ByteView(two), p.message, stream);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.consumed, one.size() + 4);
  EXPECT_EQ(p.message.message_offset, 4u);
  ScanResult second = scan(ByteView(two.data() + r.consumed, two.size() - r.consumed), p.message,
                           stream);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(p.message.method, Method::Bye);

  std::string no_length = readFile(messagePath("no_content_length.sip"));
  EXPECT_EQ(scan(ByteView(no_length), p.message, stream).error, ScanError::MissingContentLength);
}

// Per-byte feeding: the caller re-scans from the start as bytes arrive; the first Complete
// comes exactly with the last byte.
TEST(Scan, PerByteFeeding) {
  std::string bytes = readFile(corpusPath("04_200_ok_invite_sdp.sip"));
  ScanLimits stream{65535, Framing::Stream};
  ParsedMessage<kDefaultHeaderCapacity> p;
  for (size_t n = 1; n <= bytes.size(); ++n) {
    std::string fed = bytes.substr(0, n);
    ScanResult r = scan(ByteView(fed), p.message, stream);
    if (n < bytes.size()) {
      ASSERT_EQ(r.status, ScanStatus::Incomplete) << n;
    } else {
      ASSERT_EQ(r.status, ScanStatus::Complete);
      EXPECT_EQ(r.consumed, bytes.size());
    }
  }
}

struct VerdictRow {
  const char* description;
  std::string input;
  ScanStatus status;
  ScanError error;
  int error_offset;  // -1: don't check
};

const std::string kHead = "OPTIONS sip:a@b SIP/2.0\r\n";
const std::string kMandatory =
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
    "Call-ID: x1\r\nCSeq: 1 OPTIONS\r\n";

std::string withHeaders(const std::string& extra) {
  return kHead + kMandatory + extra + "Content-Length: 0\r\n\r\n";
}

const VerdictRow kVerdicts[] = {
    {"valid minimal", withHeaders(""), ScanStatus::Complete, ScanError::None, -1},
    {"ping keepalive", "\r\n\r\n", ScanStatus::Keepalive, ScanError::None, -1},
    {"pong keepalive", "\r\n", ScanStatus::Keepalive, ScanError::None, -1},
    {"lone CR", "\r", ScanStatus::Incomplete, ScanError::Truncated, -1},
    {"empty", "", ScanStatus::Incomplete, ScanError::Truncated, -1},
    {"bare LF line ending", "OPTIONS sip:a@b SIP/2.0\nVia: x\n\n", ScanStatus::Invalid,
     ScanError::BareLineFeed, 23},
    {"bare LF in headers", kHead + "Via: SIP/2.0/UDP h\n\r\n", ScanStatus::Invalid,
     ScanError::BareLineFeed, 43},
    {"bare CR inside a value", kHead + "Subject: a\rb\r\n\r\n", ScanStatus::Invalid,
     ScanError::ControlCharacter, 35},
    {"NUL in the method", std::string("OPT\0ONS sip:a@b SIP/2.0\r\n\r\n", 27), ScanStatus::Invalid,
     ScanError::ControlCharacter, 3},
    {"NUL in a header value", kHead + std::string("Call-ID: a\0b\r\n\r\n", 16),
     ScanStatus::Invalid, ScanError::ControlCharacter, 35},
    {"DEL in a header name", kHead + "Ca\x7Fll-ID: a\r\n\r\n", ScanStatus::Invalid,
     ScanError::ControlCharacter, 27},
    {"ESC in the Request-URI", "OPTIONS sip:a\x1b@b SIP/2.0\r\n\r\n", ScanStatus::Invalid,
     ScanError::ControlCharacter, 13},
    {"HTAB is allowed in values", withHeaders("Subject:\tnews\t\r\n"), ScanStatus::Complete,
     ScanError::None, -1},
    {"UTF-8 in values", withHeaders("Subject: caf\xc3\xa9\r\n"), ScanStatus::Complete,
     ScanError::None, -1},
    {"two spaces after method", "OPTIONS  sip:a@b SIP/2.0\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadRequestUri, 8},
    {"no version", "OPTIONS sip:a@b\r\n\r\n", ScanStatus::Invalid, ScanError::BadRequestUri, 15},
    {"HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadVersion, 6},
    {"SIP/3.0 request", "OPTIONS sip:a@b SIP/3.0\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadVersion, 16},
    {"method with a slash", "OPT/IONS sip:a@b SIP/2.0\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadMethod, 3},
    {"lower-case sip version", "OPTIONS sip:a@b sip/2.0\r\n" + kMandatory + "\r\n",
     ScanStatus::Complete, ScanError::None, -1},
    {"status 700", "SIP/2.0 700 Nope\r\n\r\n", ScanStatus::Invalid, ScanError::BadStatusCode, 8},
    {"status with 4 digits", "SIP/2.0 2000 OK\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadStatusCode, 11},
    {"status letters", "SIP/2.0 2x0 OK\r\n\r\n", ScanStatus::Invalid, ScanError::BadStatusCode,
     8},
    {"header without colon", kHead + "Subject value\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadHeaderLine, 33},
    {"header name with space then no colon", kHead + "Subject  value\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadHeaderLine, 34},
    {"space before colon is allowed", withHeaders("Subject : hi\r\n"), ScanStatus::Complete,
     ScanError::None, -1},
    {"empty header name", kHead + ": v\r\n\r\n", ScanStatus::Invalid, ScanError::BadHeaderName,
     25},
    {"non-token in name", kHead + "Sub@ject: v\r\n\r\n", ScanStatus::Invalid,
     ScanError::BadHeaderName, 28},
    {"folding right after the start line", kHead + " folded\r\n\r\n", ScanStatus::Invalid,
     ScanError::FoldingWithoutHeader, 25},
    {"conflicting Call-ID", withHeaders("Call-ID: x2\r\n"), ScanStatus::Invalid,
     ScanError::ConflictingHeader, 0},
    {"repeated identical Call-ID", withHeaders("i: x1\r\n"), ScanStatus::Complete,
     ScanError::None, -1},
    {"conflicting Content-Length", withHeaders("l: 5\r\n"), ScanStatus::Invalid,
     ScanError::ConflictingHeader, 0},
    {"Content-Length not digits", kHead + kMandatory + "Content-Length: 1e3\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadContentLength, 0},
    {"Content-Length negative", kHead + kMandatory + "Content-Length: -1\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadContentLength, 0},
    {"Content-Length overflow", kHead + kMandatory + "Content-Length: 99999999999999999999999\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadContentLength, 0},
    {"Content-Length of nine digits", kHead + kMandatory + "Content-Length: 000000003\r\n\r\nabc",
     ScanStatus::Complete, ScanError::None, -1},
    {"Content-Length of ten digits past the limit",
     kHead + kMandatory + "Content-Length: 4294967295\r\n\r\n", ScanStatus::Invalid,
     ScanError::MessageTooLarge, 0},
    {"Content-Length above 32 bits", kHead + kMandatory + "Content-Length: 4294967296\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadContentLength, 0},
    {"Content-Length empty", kHead + kMandatory + "Content-Length: \r\n\r\n", ScanStatus::Invalid,
     ScanError::BadContentLength, 0},
    {"long URI ending in a tab", "OPTIONS sip:" + std::string(26, 'a') + "\tx SIP/2.0\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadRequestUri, 38},
    {"long URI then a bad version", "OPTIONS sip:" + std::string(40, 'a') + " SIP/2.1\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadVersion, 53},
    {"conflicting Call-ID before a line without colon", withHeaders("Call-ID: x2\r\nBad Line\r\n"),
     ScanStatus::Invalid, ScanError::ConflictingHeader, 0},
    {"conflicting Call-ID before a control byte",
     withHeaders("Call-ID: x2\r\nSubject: a\x01" "b\r\n"), ScanStatus::Invalid,
     ScanError::ControlCharacter, 0},
    {"conflicting Call-ID as the last header", kHead + kMandatory + "Call-ID: x2\r\n\r\n",
     ScanStatus::Invalid, ScanError::ConflictingHeader, 0},
    {"Content-Length beyond the datagram", kHead + kMandatory + "Content-Length: 10\r\n\r\nabc",
     ScanStatus::Incomplete, ScanError::BodyTruncated, -1},
    {"Content-Length beyond the size limit", kHead + kMandatory + "Content-Length: 4000000\r\n\r\n",
     ScanStatus::Invalid, ScanError::MessageTooLarge, 0},
    {"missing Via", kHead + "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                            "CSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::MissingVia, -1},
    {"missing Call-ID", kHead + "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                                "To: <sip:a@b>\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::MissingCallId, -1},
    {"missing CSeq", kHead + "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                             "To: <sip:a@b>\r\nCall-ID: x\r\n\r\n",
     ScanStatus::Invalid, ScanError::MissingCSeq, -1},
    {"CSeq method mismatch", kHead + "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                                     "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
     ScanStatus::Invalid, ScanError::CSeqMethodMismatch, -1},
    {"CSeq number too big", kHead + "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                                    "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 2147483648 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadCSeq, -1},
    {"CSeq without method", kHead + "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                                    "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 12\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadCSeq, -1},
    {"Max-Forwards 256", withHeaders("Max-Forwards: 256\r\n"), ScanStatus::Invalid,
     ScanError::BadMaxForwards, -1},
    {"Max-Forwards letters", withHeaders("Max-Forwards: ten\r\n"), ScanStatus::Invalid,
     ScanError::BadMaxForwards, -1},
    {"Via without sent-by", kHead + "Via: SIP/2.0/UDP\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
                                    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadVia, -1},
    {"Via port too big", kHead + "Via: SIP/2.0/UDP h:70000\r\nFrom: <sip:a@b>;tag=1\r\n"
                                 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadVia, -1},
    {"Via trailing comma", kHead + "Via: SIP/2.0/UDP h,\r\nFrom: <sip:a@b>;tag=1\r\n"
                                   "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadVia, -1},
    {"Via unterminated IPv6", kHead + "Via: SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1\r\n"
                                      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                                      "CSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadVia, -1},
    {"From unterminated angle", kHead + "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b;tag=1\r\n"
                                        "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadFrom, -1},
    {"Call-ID with inner space", kHead + "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
                                         "To: <sip:a@b>\r\nCall-ID: x y\r\nCSeq: 1 OPTIONS\r\n\r\n",
     ScanStatus::Invalid, ScanError::BadCallId, -1},
};

class VerdictTest : public ::testing::TestWithParam<VerdictRow> {};

TEST_P(VerdictTest, GivesExpectedVerdict) {
  const VerdictRow& row = GetParam();
  for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
    if (!setScanIsa(isa)) {
      continue;
    }
    Scanned s;
    ScanResult r = s.run(row.input);
    EXPECT_EQ(r.status, row.status) << row.description << " [" << scanIsaName(isa) << "] got "
                                    << scanErrorName(r.error) << " at " << r.error_offset;
    EXPECT_EQ(r.error, row.error) << row.description << " got " << scanErrorName(r.error);
    if (row.error_offset >= 0 && row.error_offset != 0) {
      EXPECT_EQ(r.error_offset, static_cast<uint32_t>(row.error_offset)) << row.description;
    }
    if (row.error_offset == 0) {
      EXPECT_GT(r.error_offset, 0u) << row.description;  // somewhere inside the headers
    }
  }
  setScanIsa(bestScanIsa());
}

INSTANTIATE_TEST_SUITE_P(Hostile, VerdictTest, ::testing::ValuesIn(kVerdicts));

// Over capacity is a verdict, not a crash; the caller's array is never overrun.
TEST(Scan, TooManyHeaders) {
  std::string bytes = kHead;
  for (int i = 0; i < 200; ++i) {
    bytes += "X-H" + std::to_string(i) + ": v\r\n";
  }
  bytes += "\r\n";
  ParsedMessage<16> p;
  ScanResult r = scan(ByteView(bytes), p.message);
  EXPECT_EQ(r.status, ScanStatus::Invalid);
  EXPECT_EQ(r.error, ScanError::TooManyHeaders);
  EXPECT_EQ(p.message.header_count, 16);
}

// The per-header counts saturate at 255; the index still points at the first line.
TEST(Scan, OccurrencesSaturate) {
  std::string bytes = kHead + "Subject: s\r\n";
  for (int i = 0; i < 300; ++i) {
    bytes += "Via: SIP/2.0/UDP h" + std::to_string(i) + "\r\n";
  }
  bytes += "\r\n";
  for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
    if (!setScanIsa(isa)) {
      continue;
    }
    ParsedMessage<400> p;
    ASSERT_EQ(scan(ByteView(bytes), p.message).status, ScanStatus::Complete) << scanIsaName(isa);
    EXPECT_EQ(p.message.header_count, 301);
    EXPECT_EQ(p.message.occurrences[static_cast<int>(HeaderId::Via)], 255);
    EXPECT_EQ(p.message.first_index[static_cast<int>(HeaderId::Via)], 1);
    EXPECT_EQ(p.message.occurrences[static_cast<int>(HeaderId::Subject)], 1);
    EXPECT_EQ(p.message.occurrences[static_cast<int>(HeaderId::Path)], 0);
  }
  setScanIsa(bestScanIsa());
}

TEST(Scan, OversizedDatagramIsRejected) {
  std::string bytes = withHeaders("") + std::string(70000, 'a');
  ParsedMessage<kDefaultHeaderCapacity> p;
  EXPECT_EQ(scan(ByteView(bytes), p.message).error, ScanError::MessageTooLarge);
}

// Random bytes and random mutations of real messages: any verdict is fine, a crash or an
// out-of-bounds read (ASan) is not; all kernels give the same verdict.
TEST(Scan, RandomAndMutatedInputsAgreeAcrossKernels) {
  std::mt19937 rng(12345);
  std::vector<std::string> seeds;
  for (const CorpusRow& row : kCorpus) {
    seeds.push_back(loadRow(row));
  }
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::string input;
    if (iteration % 4 == 0) {
      input.resize(rng() % 600);
      for (char& c : input) {
        c = static_cast<char>(rng());
      }
    } else {
      input = seeds[rng() % seeds.size()];
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !input.empty(); ++e) {
        size_t at = rng() % input.size();
        switch (rng() % 3) {
          case 0:
            input[at] = static_cast<char>(rng());
            break;
          case 1:
            input.erase(at, 1 + rng() % 8);
            break;
          default:
            input.insert(at, 1, ",;:<>\"[]\r\n \t"[rng() % 13]);
        }
      }
    }
    ScanResult results[3];
    int n = 0;
    for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
      if (!setScanIsa(isa)) {
        continue;
      }
      Scanned s;
      std::string copy = input;
      results[n++] = s.run(copy);
    }
    for (int i = 1; i < n; ++i) {
      ASSERT_EQ(results[i].status, results[0].status) << iteration;
      ASSERT_EQ(results[i].error, results[0].error) << iteration;
      ASSERT_EQ(results[i].error_offset, results[0].error_offset) << iteration;
    }
  }
  setScanIsa(bestScanIsa());
}

// The per-ISA line walks agree on a header line of every length around the block size with
// each kind of byte (control, LF, DEL, 8-bit, HTAB, separators) at every position: same
// verdict, offset and index. Each input is an exact-size allocation so ASan catches over-reads.
TEST(Kernels, AgreeOnEveryPositionAndByte) {
  const std::string head = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Pad: ";
  for (size_t length : {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200}) {
    for (size_t position = 0; position <= length; ++position) {
      for (int byte : {0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x3A, 0x7E, 0x7F, 0x80, 0xFF}) {
        std::string value(length, 'a');
        if (position < length) {
          value[position] = static_cast<char>(byte);
        }
        const std::string text = head + value + "\r\nCall-ID: c\r\n\r\n";
        ScanResult results[3];
        uint16_t counts[3] = {};
        Span values[3];
        int n = 0;
        for (ScanIsa isa : {ScanIsa::Scalar, ScanIsa::Sse42, ScanIsa::Avx2}) {
          if (!setScanIsa(isa)) {
            continue;
          }
          std::vector<char> bytes(text.begin(), text.end());
          ParsedMessage<kDefaultHeaderCapacity> parsed;
          results[n] = scan(ByteView(bytes.data(), bytes.size()), parsed.message);
          counts[n] = parsed.message.header_count;
          values[n] = parsed.message.header_count > 1 ? parsed.message.headers[1].value : Span{};
          ++n;
        }
        for (int i = 1; i < n; ++i) {
          ASSERT_EQ(results[i].status, results[0].status) << length << " " << position << " " << byte;
          ASSERT_EQ(results[i].error, results[0].error) << length << " " << position << " " << byte;
          ASSERT_EQ(results[i].error_offset, results[0].error_offset) << length << " " << position;
          ASSERT_EQ(results[i].consumed, results[0].consumed) << length << " " << position;
          ASSERT_EQ(counts[i], counts[0]) << length << " " << position << " " << byte;
          ASSERT_EQ(values[i].offset, values[0].offset) << length << " " << position;
          ASSERT_EQ(values[i].length, values[0].length) << length << " " << position;
        }
      }
    }
  }
  setScanIsa(bestScanIsa());
}

TEST(HeaderNames, CompactAndCaseInsensitive) {
  struct Row {
    const char* name;
    HeaderId id;
  } rows[] = {
      {"i", HeaderId::CallId},        {"I", HeaderId::CallId},
      {"call-id", HeaderId::CallId},  {"CALL-ID", HeaderId::CallId},
      {"v", HeaderId::Via},           {"f", HeaderId::From},
      {"t", HeaderId::To},            {"m", HeaderId::Contact},
      {"l", HeaderId::ContentLength}, {"c", HeaderId::ContentType},
      {"k", HeaderId::Supported},     {"s", HeaderId::Subject},
      {"e", HeaderId::ContentEncoding}, {"o", HeaderId::Event},
      {"u", HeaderId::AllowEvents},   {"r", HeaderId::ReferTo},
      {"b", HeaderId::ReferredBy},    {"x", HeaderId::SessionExpires},
      {"j", HeaderId::RejectContact}, {"a", HeaderId::AcceptContact},
      {"d", HeaderId::RequestDisposition}, {"y", HeaderId::Identity},
      {"z", HeaderId::Other},         {"Via-X", HeaderId::Other},
      {"cseq", HeaderId::CSeq},       {"max-forwards", HeaderId::MaxForwards},
      {"Record-Route", HeaderId::RecordRoute}, {"proxy-authorization", HeaderId::ProxyAuthorization},
      {"Call_ID", HeaderId::Other},   {"X-Very-Long-Extension-Header-Name", HeaderId::Other},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(classifyHeaderName(row.name, std::strlen(row.name)), row.id) << row.name;
  }
}

// The status line (RFC 3261 §7.2): code, reason phrase and verdict as scanned, for common
// and unusual shapes at every byte of "SIP/2.0 ddd ".
TEST(Scan, StatusLineFields) {
  struct Row {
    const char* description;
    const char* start_line;
    ScanStatus status;
    ScanError error;
    uint32_t error_offset;
    uint16_t code;
    const char* reason;
  };
  const Row rows[] = {
      {"common", "SIP/2.0 200 OK", ScanStatus::Complete, ScanError::None, 0, 200, "OK"},
      {"lower-case version", "sip/2.0 486 Busy Here", ScanStatus::Complete, ScanError::None, 0,
       486, "Busy Here"},
      {"no reason", "SIP/2.0 100", ScanStatus::Complete, ScanError::None, 0, 100, ""},
      {"empty reason", "SIP/2.0 180 ", ScanStatus::Complete, ScanError::None, 0, 180, ""},
      {"reason with two spaces", "SIP/2.0 603  Decline", ScanStatus::Complete, ScanError::None,
       0, 603, " Decline"},
      {"lowest", "SIP/2.0 100 Trying", ScanStatus::Complete, ScanError::None, 0, 100, "Trying"},
      {"highest", "SIP/2.0 699 X", ScanStatus::Complete, ScanError::None, 0, 699, "X"},
      {"code 099", "SIP/2.0 099 X", ScanStatus::Invalid, ScanError::BadStatusCode, 8, 0, ""},
      {"code 700", "SIP/2.0 700 X", ScanStatus::Invalid, ScanError::BadStatusCode, 8, 0, ""},
      {"colon in code", "SIP/2.0 2:0 X", ScanStatus::Invalid, ScanError::BadStatusCode, 8, 0,
       ""},
      {"slash in code", "SIP/2.0 20/ X", ScanStatus::Invalid, ScanError::BadStatusCode, 8, 0,
       ""},
      {"tab after code", "SIP/2.0 200\tOK", ScanStatus::Invalid, ScanError::BadStatusCode, 11,
       0, ""},
      {"four digits", "SIP/2.0 2000 OK", ScanStatus::Invalid, ScanError::BadStatusCode, 11, 0,
       ""},
      {"tab before code", "SIP/2.0\t200 OK", ScanStatus::Invalid, ScanError::BadStartLine, 0,
       0, ""},
      {"version 2.1", "SIP/2.1 200 OK", ScanStatus::Invalid, ScanError::BadVersion, 0, 0, ""},
      {"too short", "SIP/2.0 20", ScanStatus::Invalid, ScanError::BadStartLine, 0, 0, ""},
  };
  for (const Row& row : rows) {
    const std::string bytes = std::string(row.start_line) +
                              "\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
                              "Call-ID: a@b\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    ParsedMessage<kDefaultHeaderCapacity> parsed;
    const ScanResult result = scan(ByteView(bytes), parsed.message);
    EXPECT_EQ(result.status, row.status) << row.description;
    EXPECT_EQ(result.error, row.error) << row.description;
    EXPECT_EQ(result.error_offset, row.error_offset) << row.description;
    if (row.status == ScanStatus::Complete) {
      const SipMessage& m = parsed.message;
      EXPECT_EQ(m.kind, MessageKind::Response) << row.description;
      EXPECT_EQ(m.status_code, row.code) << row.description;
      EXPECT_EQ(m.reason_phrase.view(bytes.data()), row.reason) << row.description;
      EXPECT_EQ(m.start_line.view(bytes.data()), row.start_line) << row.description;
    }
  }
}

// scanAndValidate passes on what the scan found when it did not complete: a keepalive's
// bytes (RFC 5626 §3.5.1) and an incomplete message's offset.
TEST(Scan, ScanAndValidatePassesOnUnfinishedScans) {
  Scanned s;
  const ScanResult ping = s.run("\r\n\r\n");
  EXPECT_EQ(ping.status, ScanStatus::Keepalive);
  EXPECT_EQ(ping.consumed, 4u);
  const ScanResult pong = s.run("\r\n");
  EXPECT_EQ(pong.status, ScanStatus::Keepalive);
  EXPECT_EQ(pong.consumed, 2u);
  const ScanResult partial = s.run("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n");
  EXPECT_EQ(partial.status, ScanStatus::Incomplete);
  EXPECT_EQ(partial.error, ScanError::Truncated);
  EXPECT_EQ(partial.consumed, 0u);
}

TEST(Methods, CaseSensitive) {
  EXPECT_EQ(classifyMethod("INVITE"), Method::Invite);
  EXPECT_EQ(classifyMethod("invite"), Method::Other);
  EXPECT_EQ(classifyMethod("PRACK"), Method::Prack);
  EXPECT_EQ(classifyMethod("UPDATE"), Method::Update);
  EXPECT_EQ(classifyMethod("UPDATES"), Method::Other);
}

}  // namespace
}  // namespace sipshield::parser
