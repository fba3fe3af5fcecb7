#pragma once

#include <iosfwd>
#include <string>

namespace sipshield::cli {

// ReplayOptions are the arguments of `sipshield replay`.
struct ReplayOptions {
  std::string capture_path;      // pcap or pcapng of UDP datagrams
  std::string config_path;       // the TOML config whose [shield] rules are tried
  bool json = false;             // print the report as one JSON object instead of tables
  bool any_destination = false;  // replay every datagram, not only those sent to our listen
                                 // addresses
};

// runReplay implements `sipshield replay CAPTURE --config FILE [--json]`: it runs the
// capture's UDP datagrams addressed to the config's listen addresses through the same Pipeline
// the daemon runs (same snapshot building, same filter chain), offline: the capture timestamps
// are the clock, the IP header's TTL is the packet's TTL, nothing is sent. Packets captured
// within 1 ms of each other form one burst of up to 32, as a busy socket would deliver them.
// It then reports to `out`: totals (received, forwarded, replied, dropped by reason), every
// rule's counters (seen, matched, dropped, replied, banned, and what it matched in dry-run),
// and every ban the workers set (address or prefix, rule, reason, capture time).
// Returns the exit status: 0 done, 2 bad config or unreadable capture (message on `err`).
int runReplay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sipshield::cli
