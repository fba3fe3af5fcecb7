#pragma once

#include <string>
#include <vector>

#include "src/net/endpoint.h"
#include "src/pipeline.h"

namespace sipshield::bench {

// Offered is one datagram a benchmark feeds the balancer: who sends it and its bytes (always
// to the balancer's listen address).
struct Offered {
  net::Endpoint source;
  std::string payload;
};

// fromClient offers every message of `messages` from `client`.
[[nodiscard]] std::vector<Offered> fromClient(const std::vector<std::string>& messages,
                                              const net::Endpoint& client);

// callMix returns the datagrams of `calls` whole calls as the balancer sees them, seven per
// call, each call with its own Call-ID: the client's INVITE, the backend's 100, 180 and 200
// (with SDP), the client's ACK and BYE, the backend's 200 to the BYE. Built from the corpus
// call in `corpus_dir` (01..07): requests as the client sent them, responses from the
// corpus's with their Via lines replaced by those of the request as `pipeline` forwarded it
// (our Via with its branch MAC on top), sent from the backend it went to. So the responses
// verify in any pipeline with the same branch secret. Empty when the corpus or a forward
// fails (printed on stderr).
[[nodiscard]] std::vector<Offered> callMix(size_t calls, const std::string& corpus_dir,
                                           const net::Endpoint& client, Pipeline& pipeline);

}  // namespace sipshield::bench
