#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sipshield::cli {

// runScan implements `sipshield scan FILE...`: every SIP message in the files (a raw message,
// several concatenated messages, or a pcap capture of UDP datagrams) becomes one JSON line on
// `out`. Returns the process exit status: 0 all valid, 1 any invalid, 2 usage or I/O error
// (message on `err`).
int runScan(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

}  // namespace sipshield::cli
