#include "core/validation.h"

#include <fmt/format.h>

#include <algorithm>

namespace sbx::core {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// True for well-formed UTF-8 without control characters (tab aside).
bool IsCleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

namespace {

// Names clients give (project ids, hold names): 1 to `max` characters of
// [A-Za-z0-9._-], not "." or "..". `what` names it in the message.
Status ValidateName(std::string_view what, size_t max, std::string_view name) {
  if (name.empty() || name.size() > max) {
    return InvalidArgument(fmt::format("{} must be 1 to {} characters", what, max));
  }
  if (name == "." || name == "..") {
    return InvalidArgument(fmt::format("{} cannot be \".\" or \"..\"", what));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return InvalidArgument(fmt::format(
          "{} \"{}\" may only contain letters, digits, '-', '_' and '.'", what, name));
    }
  }
  return OkStatus();
}

}  // namespace

Status ValidateProjectId(std::string_view id) {
  return ValidateName("project id", kMaxProjectIdBytes, id);
}

Status ValidateHoldName(std::string_view name) {
  return ValidateName("hold name", kMaxHoldNameBytes, name);
}

Status ValidateProviderId(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return InvalidArgument(fmt::format("{} must be 1 to 128 characters", what));
  }
  for (char c : id) {
    if (!IsNameChar(c)) {
      return InvalidArgument(
          fmt::format("{} may only contain letters, digits, '-', '_' and '.'", what));
    }
  }
  return OkStatus();
}

Status ValidateTemplateId(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > kMaxTemplateIdBytes) {
    return InvalidArgument(fmt::format("{} must be 1 to {} characters", what, kMaxTemplateIdBytes));
  }
  const auto template_char = [](char c) { return IsNameChar(c) || c == '/' || c == ':'; };
  if (!std::all_of(id.begin(), id.end(), template_char)) {
    return InvalidArgument(
        fmt::format("{} may only contain letters, digits, '-', '_', '.', '/' and ':'", what));
  }
  return OkStatus();
}

bool IsSandboxdMetadataKey(std::string_view key) {
  return key == kProjectIdMetadataKey || key == kCreateRequestIdMetadataKey;
}

Status ValidateMetadata(const Metadata& metadata, MetadataKeys keys) {
  const auto sandboxds = [](const auto& entry) { return IsSandboxdMetadataKey(entry.first); };
  const auto own = static_cast<size_t>(std::count_if(metadata.begin(), metadata.end(), sandboxds));
  if (metadata.size() - own > kMaxMetadataEntries) {
    return InvalidArgument(fmt::format("metadata has {} entries; at most {} are allowed",
                                       metadata.size() - own, kMaxMetadataEntries));
  }
  size_t total = 0;
  for (const auto& [key, value] : metadata) {
    if (key.empty() || key.size() > kMaxMetadataKeyBytes) {
      return InvalidArgument(
          fmt::format("metadata keys must be 1 to {} bytes", kMaxMetadataKeyBytes));
    }
    if (keys == MetadataKeys::kText) {
      if (!IsCleanUtf8(key) || key.find('\t') != std::string::npos) {
        return InvalidArgument("metadata keys must be UTF-8 text without control characters");
      }
    } else {
      for (char c : key) {
        if (!IsNameChar(c)) {
          return InvalidArgument(fmt::format(
              "metadata key \"{}\" may only contain letters, digits, '-', '_' and '.'", key));
        }
      }
    }
    if (value.size() > kMaxMetadataValueBytes) {
      return InvalidArgument(fmt::format("metadata \"{}\" is {} bytes; at most {} are allowed", key,
                                         value.size(), kMaxMetadataValueBytes));
    }
    if (!IsCleanUtf8(value)) {
      return InvalidArgument(fmt::format(
          "metadata \"{}\" must be UTF-8 text without control characters", key));
    }
    if (!IsSandboxdMetadataKey(key)) total += key.size() + value.size();
  }
  if (total > kMaxMetadataBytes) {
    return InvalidArgument(fmt::format("metadata is {} bytes in all; at most {} are allowed", total,
                                       kMaxMetadataBytes));
  }
  return OkStatus();
}

}  // namespace sbx::core
