#pragma once
// Checking error messages in tests: error_of<E>(f) runs f expecting an exception of type E
// and returns its message (a test failure for no exception or another type); mentions()
// passes when the message contains every part.
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace rnnx::testing {

template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

inline ::testing::AssertionResult mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    if (message.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks '" << p << "': " << message;
  return ::testing::AssertionSuccess();
}

}  // namespace rnnx::testing
