//===- TemplateCommand.cpp - `ingot template render T.jinja CONV.json` ----===//
//
// Renders a chat template with the runtime's Jinja interpreter, as Hugging
// Face's apply_chat_template would: CONV.json is {messages, tools,
// add_generation_prompt, ...}; `--tokens TOKENS.json` supplies the
// special-token variables (`template_kwargs`) and may pin the date
// strftime_now() reports (`strftime_now_fixed_to`); `--now` pins it too.
// Prints the rendering exactly, or the template's error on one line.
//
//===----------------------------------------------------------------------===//
#include "compiler/driver/Command.h"
#include "compiler/driver/InputFiles.h"
#include "runtime/chat/ChatTemplate.h"
#include "runtime/chat/Json.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace ingot::chat;

namespace {

cl::SubCommand templateCommand("template", "Render chat templates");
cl::opt<std::string> action(cl::Positional, cl::Required, cl::desc("<render>"),
                            cl::sub(templateCommand));
cl::opt<std::string> templatePath(cl::Positional, cl::Required,
                                  cl::desc("<template.jinja>"),
                                  cl::sub(templateCommand));
cl::opt<std::string> conversationPath(cl::Positional, cl::Required,
                                      cl::desc("<conversation.json>"),
                                      cl::sub(templateCommand));
cl::opt<std::string> tokensPath(
    "tokens",
    cl::desc("JSON with template_kwargs (bos_token, ...) and optionally "
             "strftime_now_fixed_to"),
    cl::value_desc("tokens.json"), cl::sub(templateCommand));
cl::opt<std::string> nowText(
    "now",
    cl::desc("Date and time strftime_now() reports (YYYY-MM-DDTHH:MM:SS)"),
    cl::value_desc("datetime"), cl::sub(templateCommand));

Expected<Value> readJson(StringRef path) {
  auto text = ingot::driver::readBoundedFile(
      path, ingot::driver::kMaxTextFileBytes, "conversation");
  if (!text)
    return text.takeError();
  Value v;
  std::string error;
  if (!parseJson(*text, v, error))
    return createStringError("'%s' is not valid JSON: %s", path.str().c_str(),
                             error.c_str());
  return v;
}

std::string oneLine(std::string message) {
  std::string out;
  for (char c : message)
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

int runTemplate() {
  using ingot::driver::reportError;
  if (action != "render")
    return reportError("unknown template action '" + action +
                       "' (expected 'render')");
  auto source = ingot::driver::readBoundedFile(
      templatePath, ingot::driver::kMaxTemplateFileBytes, "chat template");
  if (!source)
    return reportError(source.takeError());
  auto conversation = readJson(conversationPath);
  if (!conversation)
    return reportError(conversation.takeError());
  if (!conversation->isDict())
    return reportError("'" + conversationPath + "' must hold a JSON object");

  ChatTemplate chat;
  std::string error;
  if (!chat.load(*source, error))
    return reportError(templatePath + ": " + oneLine(error));

  std::optional<std::string> fixedTime;
  if (!tokensPath.empty()) {
    auto tokens = readJson(tokensPath);
    if (!tokens)
      return reportError(tokens.takeError());
    if (!tokens->isDict())
      return reportError("'" + tokensPath + "' must hold a JSON object");
    if (const Value *kwargs = tokens->getDict().find("template_kwargs")) {
      if (!kwargs->isDict())
        return reportError("template_kwargs in '" + tokensPath +
                           "' must be an object");
      for (const auto &[name, value] : kwargs->getDict().items)
        chat.setVariable(name, value);
    }
    if (const Value *pinned = tokens->getDict().find("strftime_now_fixed_to"))
      if (pinned->isString())
        fixedTime = pinned->getString();
  }
  if (!nowText.empty())
    fixedTime = nowText;
  if (fixedTime) {
    std::tm time{};
    if (!parseIsoDateTime(*fixedTime, time))
      return reportError("bad date '" + *fixedTime +
                         "' (expected YYYY-MM-DDTHH:MM:SS)");
    chat.setFixedTime(time);
  }

  const Dict &conv = conversation->getDict();
  Value messages =
      conv.find("messages") ? *conv.find("messages") : Value::list();
  Value tools = conv.find("tools") ? *conv.find("tools") : Value::none();
  const Value *addPrompt = conv.find("add_generation_prompt");
  RenderResult result =
      chat.render(messages, tools, addPrompt ? addPrompt->truthy() : false);
  if (!result.ok)
    return reportError(templatePath + ": " + oneLine(result.error));
  outs() << result.text;
  outs().flush();
  return 0;
}

ingot::driver::RegisterCommand registerTemplate(templateCommand, runTemplate);

} // namespace
