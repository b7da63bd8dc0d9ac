#include "weft/http/response_decoder.h"

#include <llhttp.h>

#include "header_rules.h"

namespace weft::http {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

Status malformed(std::string what) { return fail(ErrorCode::kParse, "malformed HTTP response: " + what); }

}  // namespace

struct ResponseDecoder::Impl {
  llhttp_t parser{};
  llhttp_settings_t settings{};
  std::string* body = nullptr;  // the current feed's
  std::size_t headBytes = 0;
  bool overHead = false;
  std::string field, value;     // the header being read
  bool inValue = false;
  bool headComplete = false;
  bool complete = false;
  bool closes = false;
  int status = 0;
  std::string contentType;
  std::size_t consumed = 0;

  static Impl& of(llhttp_t* p) { return *static_cast<Impl*>(p->data); }

  int countHead(std::size_t n) {
    headBytes += n;
    if (headBytes <= kMaxHead) return HPE_OK;
    overHead = true;
    return HPE_USER;
  }

  Impl() {
    llhttp_settings_init(&settings);
    settings.on_status = [](llhttp_t* p, const char*, std::size_t n) { return of(p).countHead(n); };
    settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
      Impl& self = of(p);
      if (self.inValue) {
        self.field.clear();
        self.value.clear();
        self.inValue = false;
      }
      self.field.append(at, n);
      return self.countHead(n);
    };
    settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
      Impl& self = of(p);
      self.inValue = true;
      self.value.append(at, n);
      return self.countHead(n);
    };
    settings.on_header_value_complete = [](llhttp_t* p) {
      Impl& self = of(p);
      if (equalsIgnoringCase(self.field, "content-type")) self.contentType = trim(self.value);
      return 0;
    };
    settings.on_headers_complete = [](llhttp_t* p) {
      if (p->status_code / 100 == 1) return 0;  // an interim response: the real one follows
      Impl& self = of(p);
      self.headComplete = true;
      self.status = p->status_code;
      self.closes = !llhttp_should_keep_alive(p);
      return 0;
    };
    settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
      of(p).body->append(at, n);
      return 0;
    };
    settings.on_message_complete = [](llhttp_t* p) {
      Impl& self = of(p);
      if (!self.headComplete) {  // the end of a 1xx: read on
        self.headBytes = 0;
        return 0;
      }
      self.complete = true;
      return static_cast<int>(HPE_PAUSED);  // what follows is not this response's
    };
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = this;
  }
};

ResponseDecoder::ResponseDecoder() : impl_(std::make_unique<Impl>()) {}
ResponseDecoder::~ResponseDecoder() = default;
ResponseDecoder::ResponseDecoder(ResponseDecoder&&) noexcept = default;
ResponseDecoder& ResponseDecoder::operator=(ResponseDecoder&&) noexcept = default;

Status ResponseDecoder::feed(std::string_view bytes, std::string& body) {
  Impl& d = *impl_;
  d.consumed = 0;
  if (d.complete || bytes.empty()) return {};
  d.body = &body;
  llhttp_errno_t rc = llhttp_execute(&d.parser, bytes.data(), bytes.size());
  d.body = nullptr;
  if (rc == HPE_OK) {
    d.consumed = bytes.size();
    return {};
  }
  if (rc == HPE_PAUSED && d.complete) {
    d.consumed = static_cast<std::size_t>(llhttp_get_error_pos(&d.parser) - bytes.data());
    return {};
  }
  if (d.overHead) return malformed("head larger than 64 KiB");
  const char* why = llhttp_get_error_reason(&d.parser);
  std::string reason = why ? why : "parse error";
  switch (rc) {
    case HPE_INVALID_CONSTANT:
    case HPE_INVALID_VERSION:
    case HPE_INVALID_STATUS:
      return malformed("bad status line (" + reason + ")");
    case HPE_INVALID_CHUNK_SIZE:
      return malformed("bad chunk size (" + reason + ")");
    default:
      return malformed(reason);
  }
}

Status ResponseDecoder::finish() {
  Impl& d = *impl_;
  if (d.complete) return {};
  if (!d.headComplete) return malformed("the connection closed before a response head");
  // llhttp completes a body framed by the close here, and refuses a cut one.
  llhttp_errno_t rc = llhttp_finish(&d.parser);
  if ((rc != HPE_OK && rc != HPE_PAUSED) || !d.complete)
    return malformed("the connection closed in the middle of the response body");
  return {};
}

bool ResponseDecoder::headComplete() const { return impl_->headComplete; }
int ResponseDecoder::status() const { return impl_->status; }
const std::string& ResponseDecoder::contentType() const { return impl_->contentType; }
bool ResponseDecoder::closes() const { return impl_->closes; }
bool ResponseDecoder::complete() const { return impl_->complete; }
std::size_t ResponseDecoder::consumed() const { return impl_->consumed; }

}  // namespace weft::http
