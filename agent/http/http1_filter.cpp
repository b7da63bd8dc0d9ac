#include "weft/http/http1_filter.h"

#include <llhttp.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "header_rules.h"

namespace weft::http {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The head (and later the trailers) of the message being parsed on one side.
struct Side {
  llhttp_t parser{};
  std::string target;  // request target, or the response's reason phrase
  Headers fields;
  std::size_t headerBytes = 0;
  bool lastWasValue = false;
  bool inMessage = false;
  bool inTrailers = false;
  bool chunked = false;  // the body is forwarded re-chunked
  std::string held;      // bytes not parsed yet: the parser is paused
  bool paused = false;
  // Debian's llhttp 8.1 accepts obs-fold even in strict mode: to see one, a
  // value piece's preceding byte is needed, in this chunk or the last one.
  const char* chunkStart = nullptr;
  char previousLastByte = 0;

  void beginMessage() {
    target.clear();
    fields.clear();
    headerBytes = 0;
    lastWasValue = inTrailers = chunked = false;
    inMessage = true;
  }
};

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    default: return "Error";
  }
}

std::string localResponse(int status, std::string_view body) {
  return fmt::format("HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}\n",
                     status, reasonPhrase(status), body.size() + 1, body);
}

class Http1Filter final : public StreamFilter {
 public:
  Http1Filter(Authorizer authorizer, Http1Limits limits, RequestObserver* observer)
      : authorizer_(std::move(authorizer)), limits_(limits), observer_(observer) {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = [](llhttp_t* p) { return self(p).onMessageBegin(p); };
    settings_.on_url = [](llhttp_t* p, const char* at, size_t n) { return self(p).onTarget(p, at, n); };
    settings_.on_status = [](llhttp_t* p, const char* at, size_t n) { return self(p).onTarget(p, at, n); };
    settings_.on_header_field = [](llhttp_t* p, const char* at, size_t n) { return self(p).onField(p, at, n); };
    settings_.on_header_field_complete = [](llhttp_t* p) { return self(p).onFieldComplete(p); };
    settings_.on_header_value = [](llhttp_t* p, const char* at, size_t n) { return self(p).onValue(p, at, n); };
    settings_.on_headers_complete = [](llhttp_t* p) {
      Http1Filter& f = self(p);
      return p == &f.down_.parser ? f.onRequestHead() : f.onResponseHead();
    };
    settings_.on_body = [](llhttp_t* p, const char* at, size_t n) { return self(p).onBody(p, at, n); };
    settings_.on_chunk_header = [](llhttp_t* p) {
      if (p->content_length == 0) self(p).sideOf(p).inTrailers = true;
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      Http1Filter& f = self(p);
      return p == &f.down_.parser ? f.onRequestComplete() : f.onResponseComplete();
    };
    llhttp_init(&down_.parser, HTTP_REQUEST, &settings_);
    llhttp_init(&up_.parser, HTTP_RESPONSE, &settings_);
    down_.parser.data = up_.parser.data = this;
  }

  // A request still in flight when the connection goes: the client's end
  // (or a reset) cut it short.
  ~Http1Filter() override { report(0, "DC"); }

  void onDownstreamData(std::string_view bytes, FilterOutput& out) override {
    out_ = &out;
    switch (mode_) {
      case Mode::kOpaque: out.toUpstream.append(bytes); return;
      case Mode::kClosed: return;
      case Mode::kAwaitUpgrade: break;
      case Mode::kHttp:
        if (!down_.paused) {
          runDown(bytes);
          return;
        }
    }
    down_.held.append(bytes);
    out.pauseDownstream = true;
  }

  void onUpstreamData(std::string_view bytes, FilterOutput& out) override {
    out_ = &out;
    if (mode_ == Mode::kOpaque) {
      out.toDownstream.append(bytes);
      return;
    }
    if (mode_ == Mode::kClosed) return;
    if (!responsePending_) {
      // Bytes nobody asked for: forwarding them would answer the client's
      // next request with a response to something else.
      closeBoth(true);
      return;
    }
    runUp(bytes);
  }

  void onDownstreamEnd(FilterOutput& out) override {
    out_ = &out;
    if (mode_ == Mode::kOpaque) {
      out.endUpstream = true;
      return;
    }
    if (mode_ == Mode::kClosed) return;
    // A tunnel stream delivers its end even while the filter holds a
    // pipelined request: the held requests still go first.
    if (!down_.held.empty()) {
      endPending_ = true;
      return;
    }
    clientEnd();
  }

  void clientEnd() {
    clientEnded_ = true;
    if (down_.inMessage) {
      // A request cut short: a forwarded head must not look complete upstream.
      if (requestHeadForwarded_) closeBoth(true);
      else closeBoth(false);
      return;
    }
    if (responsePending_) {
      closeAfterResponse_ = true;
      return;
    }
    closeBoth(false);
  }

  void onUpstreamEnd(FilterOutput& out) override {
    out_ = &out;
    if (mode_ == Mode::kOpaque) {
      out.endDownstream = true;
      return;
    }
    if (mode_ == Mode::kClosed) return;
    if (!responsePending_) {
      closeBoth(false);
      return;
    }
    if (up_.inMessage && llhttp_message_needs_eof(&up_.parser)) {
      // A body that ends with the connection.
      llhttp_errno_t err = llhttp_finish(&up_.parser);
      if (err == HPE_OK || err == HPE_PAUSED) {
        out.endDownstream = true;
        mode_ = Mode::kClosed;
        return;
      }
    }
    failResponse("UC");
  }

 private:
  enum class Mode { kHttp, kAwaitUpgrade, kOpaque, kClosed };

  static Http1Filter& self(llhttp_t* p) { return *static_cast<Http1Filter*>(p->data); }
  Side& sideOf(llhttp_t* p) { return p == &down_.parser ? down_ : up_; }

  int fail(int status, std::string reason) {
    failStatus_ = status;
    failReason_ = std::move(reason);
    return HPE_USER;
  }

  // --- running the parsers ---------------------------------------------------

  // Debian's llhttp 8.1 takes a lone CR for a line end in the head (newer
  // llhttp refuses it): "x:\rTransfer-Encoding: chunked" would then be a
  // header a strict upstream does not see. So every CR of a request head
  // must be followed by LF. The head is scanned from the message start,
  // which is known exactly where the parser paused after the last message,
  // up to the CRLF CRLF that ends it.
  bool headHasBareCr(std::string_view bytes) {
    for (char c : bytes) {
      if (!scan_.active) return false;
      if (scan_.pendingCr && c != '\n') return true;
      scan_.pendingCr = c == '\r';
      if (c != '\r' && c != '\n') scan_.sawContent = true;
      scan_.window = (scan_.window << 8) | static_cast<unsigned char>(c);
      if (scan_.sawContent && (scan_.window & 0xffffffff) == 0x0d0a0d0a) scan_.active = false;
    }
    return false;
  }

  void runDown(std::string_view bytes) {
    if (headHasBareCr(bytes)) {
      failStatus_ = 400;
      failReason_ = "CR without LF in the request head";
      failRequest();
      return;
    }
    down_.chunkStart = bytes.data();
    llhttp_errno_t err = llhttp_execute(&down_.parser, bytes.data(), bytes.size());
    if (!bytes.empty()) down_.previousLastByte = bytes.back();
    const char* end = bytes.data() + bytes.size();
    switch (err) {
      case HPE_OK: return;
      case HPE_PAUSED:
        down_.held.assign(llhttp_get_error_pos(&down_.parser), end);
        down_.paused = true;
        out_->pauseDownstream = true;
        scan_ = {};  // the held bytes start the next message
        return;
      case HPE_PAUSED_UPGRADE:
        down_.held.assign(llhttp_get_error_pos(&down_.parser), end);
        mode_ = Mode::kAwaitUpgrade;
        out_->pauseDownstream = true;
        return;
      default: failRequest();
    }
  }

  void runUp(std::string_view bytes) {
    up_.chunkStart = bytes.data();
    llhttp_errno_t err = llhttp_execute(&up_.parser, bytes.data(), bytes.size());
    if (!bytes.empty()) up_.previousLastByte = bytes.back();
    const char* end = bytes.data() + bytes.size();
    const char* stop = err == HPE_OK ? end : llhttp_get_error_pos(&up_.parser);
    if (err == HPE_PAUSED_UPGRADE) {
      // 101: from here on both directions are another protocol's bytes.
      mode_ = Mode::kOpaque;
      out_->toDownstream.append(stop, end);
      out_->toUpstream += down_.held;
      down_.held.clear();
      if (endPending_) out_->endUpstream = true;
      return;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      failResponse();
      return;
    }
    if (err == HPE_PAUSED) up_.paused = true;
    if (!responseDone_) return;
    responseDone_ = false;
    if (stop != end) closeAfterResponse_ = true;  // more than one response to one request
    if (closeAfterResponse_) {
      closeBoth(false);
      return;
    }
    resumeDown();
  }

  // The response to the request in flight ended: the next one may go.
  void resumeDown() {
    std::string held = std::move(down_.held);
    down_.held.clear();
    if (mode_ == Mode::kAwaitUpgrade) {
      mode_ = Mode::kHttp;  // the server declined the upgrade
      llhttp_resume_after_upgrade(&down_.parser);
    } else if (down_.paused) {
      down_.paused = false;
      llhttp_resume(&down_.parser);
    }
    if (!held.empty()) runDown(held);
    if (endPending_ && mode_ == Mode::kHttp && down_.held.empty()) {
      endPending_ = false;
      clientEnd();
    }
  }

  // --- failures ---------------------------------------------------------------

  void failRequest() {
    if (mode_ == Mode::kClosed) return;
    int status = failStatus_ != 0 ? failStatus_ : 400;
    std::string reason = !failReason_.empty() ? failReason_
                                               : std::string("bad request: ") + llhttp_get_error_reason(&down_.parser);
    if (requestHeadForwarded_ && down_.inMessage) {
      // The head went upstream already: the upstream must see a cut request,
      // never a complete one; the client gets the error if no response began.
      out_->resetUpstream = true;
      if (responseHeadSent_) {
        out_->resetDownstream = true;
      } else {
        out_->toDownstream += localResponse(status, reason);
        out_->endDownstream = true;
      }
      mode_ = Mode::kClosed;
      report(responseHeadSent_ ? 0 : status, "DPE");
      return;
    }
    out_->toDownstream += localResponse(status, reason);
    out_->endDownstream = true;
    out_->endUpstream = true;
    mode_ = Mode::kClosed;
    beginRecord();  // bytes that never made a request head still count as one failed request
    report(status, localFlag(status));
  }

  // `flag`: UPE for a malformed response, UC for one the upstream cut short.
  void failResponse(std::string_view flag = "UPE") {
    if (responseHeadSent_) {
      out_->resetDownstream = true;
    } else {
      out_->toDownstream += localResponse(502, "bad response from the upstream");
      out_->endDownstream = true;
    }
    out_->resetUpstream = true;
    mode_ = Mode::kClosed;
    report(responseHeadSent_ ? 0 : 502, flag);
  }

  // --- telemetry -------------------------------------------------------------------

  void beginRecord() {
    if (!observer_ || record_) return;
    record_.emplace();
    record_->protocol = "HTTP/1.1";
    record_->start = std::chrono::steady_clock::now();
  }

  // The request's exchange ended: `status` 0 keeps what the response head set.
  void report(int status, std::string_view flag = {}) {
    if (!record_) return;
    if (status != 0) record_->status = status;
    if (!flag.empty()) record_->flag(flag);
    record_->end = std::chrono::steady_clock::now();
    observer_->onRequest(*record_);
    record_.reset();
  }

  static std::string_view localFlag(int status) {
    switch (status) {
      case 403: return "RBAC";
      case 405: return "NR";
      case 414:
      case 431: return "RL";
      default: return "DPE";
    }
  }

  void closeBoth(bool reset) {
    if (reset) out_->resetUpstream = out_->resetDownstream = true;
    else out_->endUpstream = out_->endDownstream = true;
    mode_ = Mode::kClosed;
  }

  // --- heads, shared -----------------------------------------------------------

  int onMessageBegin(llhttp_t* p) {
    Side& side = sideOf(p);
    if (&side == &up_ && !responsePending_) return fail(502, "a response nobody asked for");
    side.beginMessage();
    if (&side == &down_) beginRecord();
    return 0;
  }

  int countHeaderBytes(Side& side, std::size_t n) {
    side.headerBytes += n;
    if (side.headerBytes > limits_.maxHeaderBytes)
      return fail(431, fmt::format("header section larger than {} bytes", limits_.maxHeaderBytes));
    return 0;
  }

  int onTarget(llhttp_t* p, const char* at, std::size_t n) {
    Side& side = sideOf(p);
    side.target.append(at, n);
    if (&side == &down_ && side.target.size() > limits_.maxTargetBytes)
      return fail(414, fmt::format("request target longer than {} bytes", limits_.maxTargetBytes));
    return countHeaderBytes(side, n);
  }

  int onField(llhttp_t* p, const char* at, std::size_t n) {
    Side& side = sideOf(p);
    if (side.lastWasValue || side.fields.empty()) {
      if (side.fields.size() >= limits_.maxHeaders)
        return fail(431, fmt::format("more than {} header fields", limits_.maxHeaders));
      side.fields.emplace_back();
    }
    side.lastWasValue = false;
    side.fields.back().first.append(at, n);
    return countHeaderBytes(side, n);
  }

  int onFieldComplete(llhttp_t* p) {
    const std::string& name = sideOf(p).fields.back().first;
    if (!isFieldName(name)) return fail(400, "invalid header field name");
    return 0;
  }

  int onValue(llhttp_t* p, const char* at, std::size_t n) {
    Side& side = sideOf(p);
    if (side.fields.empty()) return fail(400, "header value without a name");
    char before = at == side.chunkStart ? side.previousLastByte : at[-1];
    if (before == '\n') return fail(400, "obsolete line folding");
    side.lastWasValue = true;
    side.fields.back().second.append(at, n);
    return countHeaderBytes(side, n);
  }

  int onBody(llhttp_t* p, const char* at, std::size_t n) {
    Side& side = sideOf(p);
    std::string& to = &side == &down_ ? out_->toUpstream : out_->toDownstream;
    if (record_) (&side == &down_ ? record_->requestBodyBytes : record_->responseBodyBytes) += n;
    if (side.chunked) fmt::format_to(std::back_inserter(to), "{:x}\r\n", n);
    to.append(at, n);
    if (side.chunked) to += "\r\n";
    return 0;
  }

  // The last chunk and the trailers that passed the same checks as headers.
  void endChunked(Side& side, std::string& to) {
    to += "0\r\n";
    for (const auto& [name, value] : side.fields)
      if (!isHopByHop(name) && !isFramingField(name)) {
        to += name;
        to += ": ";
        to += trimmed(value);
        to += "\r\n";
      }
    to += "\r\n";
  }

  // --- requests ------------------------------------------------------------------

  int onRequestHead() {
    llhttp_t* p = &down_.parser;
    if (p->method == HTTP_CONNECT) return fail(405, "CONNECT is not proxied");
    // llhttp also parses RTSP, whose methods are not HTTP's: not forwarded
    // as HTTP. (ICE's SOURCE is Icecast's HTTP/1.0 method and passes.)
    if (p->method >= HTTP_DESCRIBE && p->method <= HTTP_FLUSH) return fail(400, "not an HTTP request");
    // RFC 9112 3.2: the target is ASCII. Debian's llhttp 8.1 lets UTF-8 through.
    for (char c : down_.target)
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        return fail(400, "request target with a byte outside visible ASCII");
    HeadFacts facts = headFacts(down_.fields);
    if (facts.hosts > 1) return fail(400, "more than one Host header");
    if (facts.contentLengths > 1) return fail(400, "more than one Content-Length header");
    if (facts.transferEncodings > 0) {
      if (facts.contentLengths > 0) return fail(400, "both Content-Length and Transfer-Encoding");
      // Another coding would have to be decoded to re-frame the body, and
      // passing it on as it is would let two parsers disagree (RFC 9112 6.1:
      // 501 for a coding the server does not implement).
      if (facts.transferEncodings > 1 || !equalsIgnoringCase(facts.transferEncoding, "chunked"))
        return fail(501, "Transfer-Encoding other than chunked");
    }
    RequestHead head;
    head.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    head.authority = facts.host;
    splitTarget(down_.target, head);
    const std::string checkedPath = head.path;
    for (const auto& [name, value] : down_.fields) head.headers.emplace_back(lowerCase(name), trimmed(value));
    head.grpc = facts.contentType.starts_with("application/grpc");
    Verdict verdict = authorizer_ ? authorizer_(head) : Verdict::kAllow;
    const bool rewritten = record_ && observer_->onRequestHead(*record_, head);
    if (verdict == Verdict::kDeny) {
      if (record_) describeRequest(*record_, std::move(head), verdict);
      return fail(403, "denied by authorization policy");
    }

    std::string& to = out_->toUpstream;
    std::string target = head.path == checkedPath ? down_.target
                                                  : head.path + (head.query.empty() ? "" : "?" + head.query);
    fmt::format_to(std::back_inserter(to), "{} {} HTTP/{}.{}\r\n", head.method, target, p->http_major, p->http_minor);
    appendEndToEnd(to, rewritten ? head.headers : down_.fields, facts);
    down_.chunked = (p->flags & F_CHUNKED) != 0;
    if (down_.chunked) to += "transfer-encoding: chunked\r\n";
    else if (facts.contentLengths == 1) to += "content-length: " + facts.contentLength + "\r\n";
    if (facts.teTrailers) to += "te: trailers\r\n";
    requestUpgrade_ = p->upgrade != 0;
    if (requestUpgrade_) to += "connection: upgrade\r\nupgrade: " + facts.upgrade + "\r\n";
    else if (!llhttp_should_keep_alive(p)) to += "connection: close\r\n";
    to += "\r\n";
    if (record_) describeRequest(*record_, std::move(head), verdict);  // the head went out: its strings move
    requestHead_ = p->method == HTTP_HEAD;
    clientHttp10_ = p->http_major == 1 && p->http_minor == 0;
    requestHeadForwarded_ = true;
    responsePending_ = true;
    responseHeadSent_ = false;
    if (up_.paused) {
      up_.paused = false;
      llhttp_resume(&up_.parser);
    }
    down_.fields.clear();  // from here on: trailers
    return 0;
  }

  int onRequestComplete() {
    llhttp_t* p = &down_.parser;
    if (down_.chunked) endChunked(down_, out_->toUpstream);
    down_.inMessage = false;
    requestHeadForwarded_ = false;
    if (!llhttp_should_keep_alive(p)) closeAfterResponse_ = true;
    if (p->upgrade) return 0;  // llhttp pauses for the upgrade itself
    // One request in flight: hold what follows until its response ended.
    // After a request that closes the connection nothing more is read.
    if (!responsePending_ && closeAfterResponse_) closeBoth(false);  // its response came early
    if (responsePending_ || closeAfterResponse_) return HPE_PAUSED;
    return 0;
  }

  // --- responses ----------------------------------------------------------------

  int onResponseHead() {
    llhttp_t* p = &up_.parser;
    int status = p->status_code;
    // RFC 9112 4: three digits. Debian's llhttp 8.1 takes "20" for a status;
    // forwarded, the client would read a response no server may send.
    if (status < 100) return fail(502, "a status code of fewer than three digits");
    HeadFacts facts = headFacts(up_.fields);
    if (facts.contentLengths > 1) return fail(502, "more than one Content-Length header");
    if (facts.transferEncodings > 0 && facts.contentLengths > 0)
      return fail(502, "both Content-Length and Transfer-Encoding");
    std::string& to = out_->toDownstream;
    fmt::format_to(std::back_inserter(to), "HTTP/1.1 {} {}\r\n", status, up_.target);
    appendEndToEnd(to, up_.fields, facts);
    if (status == 101) {
      if (!requestUpgrade_) return fail(502, "101 without an upgrade request");
      to += "connection: upgrade\r\nupgrade: " + facts.upgrade + "\r\n\r\n";
      responseHeadSent_ = true;
      report(101);  // what follows is another protocol's
      return 0;
    }
    if (status >= 100 && status < 200) {
      to += "\r\n";  // interim (100 Continue): the real response follows
      return 0;
    }
    if (record_) record_->status = status;
    up_.chunked = (p->flags & F_CHUNKED) != 0 && !clientHttp10_;
    bool closeDelimited = !(p->flags & (F_CHUNKED | F_CONTENT_LENGTH)) && !requestHead_ && status != 204 &&
                          status != 304;
    if (up_.chunked) to += "transfer-encoding: chunked\r\n";
    else if (facts.contentLengths == 1) to += "content-length: " + facts.contentLength + "\r\n";
    // An HTTP/1.0 client cannot read chunks: the body ends with the connection.
    if ((p->flags & F_CHUNKED) && clientHttp10_) closeAfterResponse_ = true;
    if (closeDelimited || !llhttp_should_keep_alive(p)) closeAfterResponse_ = true;
    if (closeAfterResponse_) to += "connection: close\r\n";
    to += "\r\n";
    responseHeadSent_ = true;
    up_.fields.clear();  // from here on: trailers
    return requestHead_ ? 1 : 0;  // 1: no body, whatever the framing says
  }

  int onResponseComplete() {
    llhttp_t* p = &up_.parser;
    up_.inMessage = false;
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) return 0;
    if (up_.chunked) endChunked(up_, out_->toDownstream);
    if (p->upgrade) return 0;
    report(0);
    responsePending_ = false;
    responseDone_ = true;
    return HPE_PAUSED;  // anything after it waits for the next request
  }

  // --- composing ------------------------------------------------------------------

  struct HeadFacts {
    int hosts = 0, contentLengths = 0, transferEncodings = 0;
    std::string host, contentLength, transferEncoding, contentType, upgrade;
    std::vector<std::string> connectionTokens;
    bool teTrailers = false;
  };

  static HeadFacts headFacts(const Headers& fields) {
    HeadFacts f;
    for (const auto& [name, rawValue] : fields) {
      std::string_view value = trimmed(rawValue);
      auto is = [&name](std::string_view lower) { return equalsIgnoringCase(name, lower); };
      if (is("host")) ++f.hosts, f.host = value;
      else if (is("content-length")) ++f.contentLengths, f.contentLength = value;
      else if (is("transfer-encoding")) ++f.transferEncodings, f.transferEncoding = value;
      else if (is("content-type")) f.contentType = lowerCase(value);
      else if (is("upgrade")) f.upgrade = value;
      else if (is("connection")) forEachToken(value, [&](std::string t) { f.connectionTokens.push_back(std::move(t)); });
      else if (is("te")) forEachToken(value, [&](std::string t) { f.teTrailers = f.teTrailers || t == "trailers"; });
    }
    return f;
  }

  static void appendEndToEnd(std::string& to, const Headers& fields, const HeadFacts& facts) {
    for (const auto& [name, value] : fields) {
      if (isHopByHop(name) || isFramingField(name)) continue;
      // The tokens are lower-cased already.
      if (std::any_of(facts.connectionTokens.begin(), facts.connectionTokens.end(),
                      [&name](const std::string& token) { return equalsIgnoringCase(name, token); }))
        continue;
      to += name;
      to += ": ";
      to += trimmed(value);
      to += "\r\n";
    }
  }

  static void splitTarget(std::string_view target, RequestHead& head) {
    // absolute-form: the authority comes from the target (RFC 9112 3.2.2).
    if (auto scheme = target.find("://"); scheme != std::string_view::npos && target.front() != '/') {
      std::string_view rest = target.substr(scheme + 3);
      std::size_t slash = rest.find_first_of("/?");
      head.authority = std::string(rest.substr(0, slash));
      target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    }
    std::size_t q = target.find('?');
    head.path = std::string(target.substr(0, q));
    if (head.path.empty()) head.path = "/";
    if (q != std::string_view::npos) head.query = std::string(target.substr(q + 1));
  }

  struct HeadScan {
    bool active = true;
    bool pendingCr = false;
    bool sawContent = false;
    std::uint32_t window = 0;
  };

  Authorizer authorizer_;
  Http1Limits limits_;
  RequestObserver* observer_;
  std::optional<RequestRecord> record_;  // the request in flight, when observed
  HeadScan scan_;
  bool endPending_ = false;  // the client ended while a pipelined request was held
  llhttp_settings_t settings_{};
  Side down_, up_;
  FilterOutput* out_ = nullptr;
  Mode mode_ = Mode::kHttp;
  int failStatus_ = 0;
  std::string failReason_;
  bool requestHeadForwarded_ = false;  // the current request's head went upstream
  bool responsePending_ = false;       // a forwarded request awaits its final response
  bool responseHeadSent_ = false;
  bool responseDone_ = false;          // set by the parser, acted on after it returns
  bool requestUpgrade_ = false;
  bool requestHead_ = false;
  bool clientHttp10_ = false;
  bool clientEnded_ = false;
  bool closeAfterResponse_ = false;
};

}  // namespace

std::unique_ptr<StreamFilter> makeHttp1Filter(Authorizer authorizer, Http1Limits limits, RequestObserver* observer) {
  return std::make_unique<Http1Filter>(std::move(authorizer), limits, observer);
}

}  // namespace weft::http
