#include "src/io/dpdk/dpdk_config.h"

#include <charconv>
#include <thread>

namespace sipshield::io {
namespace {

bool parseNumber(std::string_view text, uint32_t max, uint32_t& out) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > max) {
    return false;
  }
  out = value;
  return true;
}

}  // namespace

std::optional<DpdkAddress> parseDpdkAddress(std::string_view text) {
  DpdkAddress out;
  if (const size_t at = text.find('@'); at != std::string_view::npos) {
    uint32_t port = 0;
    if (!parseNumber(text.substr(at + 1), 65535, port)) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
    text = text.substr(0, at);
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  auto ip = net::IpAddress::parse(text.substr(0, slash));
  if (!ip) {
    return std::nullopt;
  }
  uint32_t prefix = 0;
  if (!parseNumber(text.substr(slash + 1), ip->isV4() ? 32 : 128, prefix)) {
    return std::nullopt;
  }
  out.ip = *ip;
  out.prefix_length = static_cast<uint8_t>(prefix);
  return out;
}

Result<DpdkBackendConfig> dpdkBackendConfig(const Config& config) {
  const DpdkConfig& dpdk = config.dpdk;
  DpdkBackendConfig out;
  out.eal_args = dpdk.eal_args;
  out.mtu = dpdk.mtu;
  out.burst = std::min<uint32_t>(dpdk.burst, 32);
  out.in_place_tx = dpdk.in_place_tx;
  out.tx_checksum_offload = dpdk.tx_checksum_offload;
  out.workers = config.server.workers == 0 ? 1 : config.server.workers;
  out.listen = socketAddresses(config.server);  // local_index order, as buildLocals() reads it
  if (dpdk.ports.empty()) {
    return invalidArgument("dpdk.ports: at least one [[dpdk.ports]] is needed");
  }
  for (size_t i = 0; i < dpdk.ports.size(); ++i) {
    const std::string where = "dpdk.ports[" + std::to_string(i) + "].";
    DpdkPort port;
    for (const auto& [key, value] : dpdk.ports[i].values) {
      uint32_t number = 0;
      if (key == "device" || key == "vdev" || key == "pci") {
        port.device = value;
      } else if (key == "vlan") {
        if (!parseNumber(value, 4094, number)) {
          return invalidArgument(where + "vlan: must be 0..4094, got " + value);
        }
        port.vlan = static_cast<uint16_t>(number);
      } else if (key == "gateway" || key == "gateway6") {
        auto ip = net::IpAddress::parse(value);
        if (!ip || (key == "gateway") != ip->isV4()) {
          return invalidArgument(where + key + ": not an IPv" + (key == "gateway" ? "4" : "6") +
                                 " literal: " + value);
        }
        (key == "gateway" ? port.gateway : port.gateway6) = *ip;
      } else if (key == "rx_descriptors" || key == "tx_descriptors") {
        if (!parseNumber(value, 32768, number) || number < 64) {
          return invalidArgument(where + key + ": must be 64..32768, got " + value);
        }
        (key == "rx_descriptors" ? port.rx_descriptors : port.tx_descriptors) =
            static_cast<uint16_t>(number);
      } else if (key == "max_rx_frame") {
        if (!parseNumber(value, 65535, number) || number < 64) {
          return invalidArgument(where + "max_rx_frame: must be 64..65535, got " + value);
        }
        port.max_rx_frame = number;
      } else if (key == "exception_path") {
        if (value != "tap" && value != "none") {
          return invalidArgument(where + "exception_path: must be \"tap\" or \"none\", got " +
                                 value);
        }
        port.exception_tap = value == "tap";
      } else if (key == "exception_name") {
        if (value.empty() || value.size() > 15 ||
            value.find_first_of(",=/ ") != std::string::npos) {
          return invalidArgument(where + "exception_name: must be an interface name of 1..15 "
                                         "characters without , = / or space, got " + value);
        }
        port.exception_name = value;
      } else if (key == "rx_queues" || key == "tx_queues") {
        // One queue pair per worker is the layout; say so rather than silently differ.
        if (!parseNumber(value, 1024, number) || number != out.workers) {
          return invalidArgument(where + key + ": the DPDK backend uses one queue per worker (" +
                                 std::to_string(out.workers) + "), got " + value);
        }
      } else {
        return invalidArgument(where + key + ": unknown key (device, vdev, pci, vlan, gateway, "
                                             "gateway6, rx_descriptors, tx_descriptors, "
                                             "max_rx_frame, rx_queues, tx_queues, "
                                             "exception_path, exception_name)");
      }
    }
    if (port.device.empty()) {
      return invalidArgument(where + "device: missing (a vdev spec, PCI address or port name)");
    }
    if (port.exception_tap && port.exception_name.empty()) {
      port.exception_name = "sipshield" + std::to_string(i);
    }
    out.ports.push_back(std::move(port));
  }
  for (const std::string& text : dpdk.addresses) {
    auto address = parseDpdkAddress(text);
    if (!address) {
      return invalidArgument("dpdk.addresses: not ADDRESS/PREFIX[@PORT]: " + text);
    }
    if (address->port >= out.ports.size()) {
      return invalidArgument("dpdk.addresses: " + text + " names port " +
                             std::to_string(address->port) + " of " +
                             std::to_string(out.ports.size()));
    }
    out.addresses.push_back(*address);
  }
  for (const net::Endpoint& listen : out.listen) {
    bool owned = false;
    for (const DpdkAddress& address : out.addresses) {
      owned = owned || address.ip == listen.ip;
    }
    if (!owned || listen.port == 0) {
      return invalidArgument("server.listen / backend_listen: " + listen.toString() +
                             " must be one of dpdk.addresses with a fixed port");
    }
  }
  return out;
}

}  // namespace sipshield::io
