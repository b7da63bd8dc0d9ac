#include "weft/http/request_reader.h"

#include <llhttp.h>

#include <algorithm>
#include <deque>

#include "header_rules.h"

namespace weft::http {


std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  auto q = target.find('?');
  return q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (equalsIgnoringCase(key, name)) return value;
  return std::nullopt;
}

struct RequestReader::Impl {
  RequestLimits limits;
  llhttp_t parser{};
  llhttp_settings_t settings{};
  Request current;
  std::size_t headerBytes = 0;
  bool lastWasValue = false;  // header name/value callbacks may arrive in pieces
  std::deque<Request> done;
  std::string limitError;
  // Debian's llhttp 8.1 accepts obs-fold and whitespace before the colon even
  // in strict mode (newer llhttp rejects both): both are smuggling vectors, so
  // they are checked here. To see a fold we need the byte before each value
  // piece: inside the current chunk, or the last byte of the previous one.
  const char* chunkStart = nullptr;
  char previousChunkLastByte = 0;

  int fail(std::string reason) {
    limitError = std::move(reason);
    return HPE_USER;
  }

  static Impl& of(llhttp_t* p) { return *static_cast<Impl*>(p->data); }

  int countHeaderBytes(std::size_t n) {
    headerBytes += n;
    if (headerBytes > limits.maxHeaderBytes) {
      return fail("request header section larger than " + std::to_string(limits.maxHeaderBytes) + " bytes");
    }
    return HPE_OK;
  }

  Impl(RequestLimits l) : limits(l) {
    llhttp_settings_init(&settings);
    settings.on_message_begin = [](llhttp_t* p) {
      Impl& self = of(p);
      self.current = Request{};
      self.headerBytes = 0;
      self.lastWasValue = false;
      return 0;
    };
    settings.on_url = [](llhttp_t* p, const char* at, size_t n) {
      Impl& self = of(p);
      self.current.target.append(at, n);
      return self.countHeaderBytes(n);
    };
    settings.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
      Impl& self = of(p);
      if (self.lastWasValue || self.current.headers.empty()) self.current.headers.emplace_back();
      self.lastWasValue = false;
      self.current.headers.back().first.append(at, n);
      return self.countHeaderBytes(n);
    };
    settings.on_header_field_complete = [](llhttp_t* p) {
      Impl& self = of(p);
      const std::string& name = self.current.headers.back().first;
      if (!isFieldName(name))
        return self.fail("invalid header field name '" + name + "'");
      return 0;
    };
    settings.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
      Impl& self = of(p);
      char before = at == self.chunkStart ? self.previousChunkLastByte : at[-1];
      if (before == '\n') return self.fail("obsolete line folding in header '" + self.current.headers.back().first + "'");
      self.lastWasValue = true;
      self.current.headers.back().second.append(at, n);
      return self.countHeaderBytes(n);
    };
    settings.on_headers_complete = [](llhttp_t* p) {
      Impl& self = of(p);
      self.current.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
      return 0;
    };
    settings.on_body = [](llhttp_t* p, const char* at, size_t n) {
      Impl& self = of(p);
      if (self.current.body.size() + n > self.limits.maxBodyBytes) {
        return self.fail("request body larger than " + std::to_string(self.limits.maxBodyBytes) + " bytes");
      }
      self.current.body.append(at, n);
      return 0;
    };
    settings.on_message_complete = [](llhttp_t* p) {
      Impl& self = of(p);
      self.current.keepAlive = llhttp_should_keep_alive(p) != 0;
      self.done.push_back(std::move(self.current));
      return 0;
    };
    llhttp_init(&parser, HTTP_REQUEST, &settings);
    parser.data = this;
  }
};

RequestReader::RequestReader(RequestLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
RequestReader::~RequestReader() = default;

Result<std::size_t> RequestReader::feed(std::string_view bytes) {
  if (bytes.empty()) return 0;
  impl_->chunkStart = bytes.data();
  llhttp_errno_t err = llhttp_execute(&impl_->parser, bytes.data(), bytes.size());
  impl_->previousChunkLastByte = bytes.back();
  if (err == HPE_OK) return bytes.size();
  if (err == HPE_PAUSED_UPGRADE) return static_cast<std::size_t>(llhttp_get_error_pos(&impl_->parser) - bytes.data());
  std::string reason = !impl_->limitError.empty() ? impl_->limitError
                                                  : std::string(llhttp_errno_name(err)) + ": " +
                                                        llhttp_get_error_reason(&impl_->parser);
  return fail(ErrorCode::kParse, "bad HTTP request: " + reason);
}

std::optional<Request> RequestReader::next() {
  if (impl_->done.empty()) return std::nullopt;
  Request r = std::move(impl_->done.front());
  impl_->done.pop_front();
  return r;
}

}  // namespace weft::http
