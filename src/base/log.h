// Logging: spdlog with one process-wide default logger configured by app/.
// Use SBX_LOG_INFO("sandbox {} paused", id). Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#define SBX_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define SBX_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define SBX_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define SBX_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
