// ASSERT_OK_AND_ASSIGN for the source tests: asserts that a Result is OK
// (printing its status if not) and moves its value into `lhs`.
#pragma once

#include <gtest/gtest.h>

#include <utility>

#define ASSERT_OK_AND_ASSIGN_CAT_(a, b) a##b
#define ASSERT_OK_AND_ASSIGN_CAT(a, b) ASSERT_OK_AND_ASSIGN_CAT_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                              \
  auto ASSERT_OK_AND_ASSIGN_CAT(_r, __LINE__) = (expr);              \
  ASSERT_TRUE(ASSERT_OK_AND_ASSIGN_CAT(_r, __LINE__).ok())           \
      << ASSERT_OK_AND_ASSIGN_CAT(_r, __LINE__).status().ToString(); \
  lhs = std::move(ASSERT_OK_AND_ASSIGN_CAT(_r, __LINE__)).ValueOrDie();
