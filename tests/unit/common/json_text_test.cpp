// JSON and terminal text from arbitrary bytes.
#include "common/json_text.h"

#include <gtest/gtest.h>

using namespace credwatch;

TEST(JsonText, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json j = {{"path", std::string("/home/\xff\xfe/.aws/credentials")}, {"args", {"true", "\xc0\xaf"}}};
  EXPECT_THROW(j.dump(), nlohmann::json::type_error);  // what the agent used to hit
  std::string text = json_text(j);
  auto back = nlohmann::json::parse(text);
  EXPECT_EQ(back["path"], "/home/\xEF\xBF\xBD\xEF\xBF\xBD/.aws/credentials");
  EXPECT_EQ(back["args"][1], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonText, IndentsOnRequest) {
  nlohmann::json j = {{"a", 1}};
  EXPECT_EQ(json_text(j), R"({"a":1})");
  EXPECT_EQ(json_text(j, 2), "{\n  \"a\": 1\n}");
}

TEST(PrintableText, EscapesControlsAndKeepsValidUtf8) {
  EXPECT_EQ(printable_text("plain /etc/shadow"), "plain /etc/shadow");
  EXPECT_EQ(printable_text("\x1b[31mred\x07\n"), "\\x1b[31mred\\x07\\x0a");
  EXPECT_EQ(printable_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(printable_text("del\x7f"), "del\\x7f");
}

TEST(PrintableText, ReplacesEveryInvalidSequence) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(printable_text("\xff"), fffd);
  EXPECT_EQ(printable_text("\xc0\xaf"), fffd + fffd);          // overlong '/'
  EXPECT_EQ(printable_text("\xe0\x80\xaf"), fffd + fffd + fffd);  // overlong, three bytes
  EXPECT_EQ(printable_text("\xed\xa0\x80"), fffd + fffd + fffd);  // a UTF-16 surrogate
  EXPECT_EQ(printable_text("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(printable_text("ab\xe2\x82"), "ab" + fffd + fffd);  // truncated at the end
  EXPECT_EQ(printable_text(std::string("a\0b", 3)), "a\\x00b");
}
