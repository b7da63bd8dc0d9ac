#include "weft/redirect/netlink_routes.h"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "weft/common/unique_fd.h"

namespace weft::redirect {
namespace {

// One request, built in place: header, family message, attributes.
struct Request {
  alignas(4) char buffer[512] = {};
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer); }

  Request(std::uint16_t type, std::uint16_t flags, const void* body, std::size_t bodyLength) {
    header()->nlmsg_len = NLMSG_LENGTH(bodyLength);
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    header()->nlmsg_seq = 1;
    std::memcpy(NLMSG_DATA(header()), body, bodyLength);
  }
  void add(std::uint16_t type, const void* data, std::size_t length) {
    auto* attribute = reinterpret_cast<rtattr*>(buffer + NLMSG_ALIGN(header()->nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(length));
    std::memcpy(RTA_DATA(attribute), data, length);
    header()->nlmsg_len = NLMSG_ALIGN(header()->nlmsg_len) + RTA_ALIGN(attribute->rta_len);
  }
  void add32(std::uint16_t type, std::uint32_t value) { add(type, &value, sizeof value); }
};

// Sends `request` and reads the answer: the first message that is not an
// ACK carrying no error is handed to `onReply`.
template <class OnReply>
Status exchange(Request& request, std::string_view what, OnReply onReply) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return failErrno("netlink socket");
  sockaddr_nl kernel{.nl_family = AF_NETLINK};
  if (::sendto(fd.get(), request.buffer, request.header()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
    return failErrno(std::string(what));
  alignas(4) char reply[8192];
  ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
  if (n < 0) return failErrno(std::string(what));
  for (auto* message = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(message, static_cast<unsigned>(n));
       message = NLMSG_NEXT(message, n)) {
    if (message->nlmsg_type == NLMSG_ERROR) {
      int error = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(message))->error;
      if (error == 0) return {};
      return failErrno(std::string(what), error);
    }
    return onReply(message);
  }
  return fail(ErrorCode::kSystem, std::string(what) + ": no answer from the kernel");
}

Status tolerateExisting(Status status) {
  if (!status && status.error().message.find(std::strerror(EEXIST)) != std::string::npos) return {};
  return status;
}

Request ruleRequest(std::uint16_t type, std::uint16_t flags, const LocalDelivery& d) {
  fib_rule_hdr rule{};
  rule.family = AF_INET;
  rule.action = FR_ACT_TO_TBL;
  rule.table = d.table < 256 ? static_cast<std::uint8_t>(d.table) : static_cast<std::uint8_t>(RT_TABLE_UNSPEC);
  Request request(type, flags, &rule, sizeof rule);
  request.add32(FRA_FWMARK, d.mark);
  request.add32(FRA_TABLE, d.table);
  request.add32(FRA_PRIORITY, d.priority);
  return request;
}

Request routeRequest(std::uint16_t type, std::uint16_t flags, const LocalDelivery& d) {
  rtmsg route{};
  route.rtm_family = AF_INET;
  route.rtm_dst_len = 0;
  route.rtm_table = d.table < 256 ? static_cast<std::uint8_t>(d.table) : static_cast<std::uint8_t>(RT_TABLE_UNSPEC);
  route.rtm_protocol = RTPROT_STATIC;
  route.rtm_scope = RT_SCOPE_HOST;
  route.rtm_type = RTN_LOCAL;
  Request request(type, flags, &route, sizeof route);
  request.add32(RTA_TABLE, d.table);
  request.add32(RTA_OIF, if_nametoindex("lo"));
  return request;
}

}  // namespace

Result<int> routeInterface(in_addr destination) {
  rtmsg route{};
  route.rtm_family = AF_INET;
  route.rtm_dst_len = 32;
  Request request(RTM_GETROUTE, 0, &route, sizeof route);
  request.add(RTA_DST, &destination, sizeof destination);
  int oif = 0;
  auto ok = exchange(request, "route lookup", [&oif](nlmsghdr* message) -> Status {
    auto* body = reinterpret_cast<rtmsg*>(NLMSG_DATA(message));
    int length = static_cast<int>(RTM_PAYLOAD(message));
    for (auto* a = RTM_RTA(body); RTA_OK(a, length); a = RTA_NEXT(a, length))
      if (a->rta_type == RTA_OIF) std::memcpy(&oif, RTA_DATA(a), sizeof oif);
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  if (oif == 0) return fail(ErrorCode::kNotFound, "no route with an interface");
  return oif;
}

Status ensureLocalDelivery(const LocalDelivery& delivery) {
  auto none = [](nlmsghdr*) -> Status { return {}; };
  Request rule = ruleRequest(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, delivery);
  if (auto ok = tolerateExisting(exchange(rule, "add the fwmark rule for intercepted plaintext", none)); !ok)
    return ok;
  Request route = routeRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, delivery);
  return exchange(route, "add the local route for intercepted plaintext", none);
}

void removeLocalDelivery(const LocalDelivery& delivery) {
  auto none = [](nlmsghdr*) -> Status { return {}; };
  Request rule = ruleRequest(RTM_DELRULE, NLM_F_ACK, delivery);
  (void)exchange(rule, "remove the fwmark rule", none);
  Request route = routeRequest(RTM_DELROUTE, NLM_F_ACK, delivery);
  (void)exchange(route, "remove the local route", none);
}

}  // namespace weft::redirect
