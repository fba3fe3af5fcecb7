#include "src/net/capture_reader.h"

#include <pcap/pcap.h>

#include <cstring>
#include <fstream>

namespace sipshield::net {

Result<std::unique_ptr<CaptureReader>> CaptureReader::open(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_open_offline(path.c_str(), error);
  if (handle == nullptr) {
    return invalidArgument(path + ": " + error);
  }
  LinkType link = LinkType::Ethernet;
  switch (pcap_datalink(handle)) {
    case DLT_EN10MB:
      link = LinkType::Ethernet;
      break;
    case DLT_LINUX_SLL:
      link = LinkType::LinuxSll;
      break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      link = LinkType::RawIp;
      break;
    case DLT_NULL:
    case DLT_LOOP:
      link = LinkType::BsdLoopback;
      break;
    default: {
      const char* known = pcap_datalink_val_to_name(pcap_datalink(handle));
      std::string name = known != nullptr ? known : "unknown";
      pcap_close(handle);
      return invalidArgument(path + ": unsupported link type " + name);
    }
  }
  return std::unique_ptr<CaptureReader>(new CaptureReader(handle, link));
}

CaptureReader::~CaptureReader() { pcap_close(static_cast<pcap_t*>(handle_)); }

bool CaptureReader::next(UdpDatagram& datagram, uint64_t& timestamp_ns) {
  auto* handle = static_cast<pcap_t*>(handle_);
  pcap_pkthdr* header = nullptr;
  const u_char* frame = nullptr;
  while (pcap_next_ex(handle, &header, &frame) == 1) {
    DecodeStatus status = decodeUdp(link_, frame, header->caplen, datagram);
    if (status == DecodeStatus::Ok) {
      timestamp_ns = static_cast<uint64_t>(header->ts.tv_sec) * 1000000000ull +
                     static_cast<uint64_t>(header->ts.tv_usec) * 1000ull;
      return true;
    }
    if (status == DecodeStatus::Fragment) {
      ++fragments_;
    } else {
      ++skipped_;
    }
  }
  return false;
}

bool CaptureReader::isCaptureFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t magic[4] = {};
  if (!in.read(reinterpret_cast<char*>(magic), 4)) {
    return false;
  }
  uint32_t m = 0;
  std::memcpy(&m, magic, 4);
  return m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1 ||
         m == 0x0a0d0d0a;
}

}  // namespace sipshield::net
