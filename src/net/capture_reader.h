#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "src/net/udp_decode.h"
#include "src/status.h"

namespace sipshield::net {

// CaptureReader reads the UDP datagrams of a pcap or pcapng file (libpcap), for `scan`,
// `replay` and tests. Not thread-safe. Frames that are not UDP are counted and skipped.
class CaptureReader {
 public:
  // open returns a reader, or a Status naming the file and libpcap's complaint.
  static Result<std::unique_ptr<CaptureReader>> open(const std::string& path);
  ~CaptureReader();

  // next fills `datagram` (valid until the next call) and its capture time; false at the end.
  bool next(UdpDatagram& datagram, uint64_t& timestamp_ns);

  [[nodiscard]] uint64_t skippedFrames() const { return skipped_; }
  [[nodiscard]] uint64_t fragments() const { return fragments_; }

  // isCaptureFile says whether the first bytes are a pcap or pcapng magic number.
  static bool isCaptureFile(const std::string& path);

 private:
  CaptureReader(void* handle, LinkType link) : handle_(handle), link_(link) {}
  void* handle_;  // pcap_t*
  LinkType link_;
  uint64_t skipped_ = 0;
  uint64_t fragments_ = 0;
};

}  // namespace sipshield::net
