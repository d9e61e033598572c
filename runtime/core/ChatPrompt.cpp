//===- ChatPrompt.cpp - The conversation rendered by the chat template ----===//
#include "ChatPrompt.h"
#include "CommandLine.h"
#include "Error.h"
#include "FileIO.h"
#include "ingot/ModelABI.h"

namespace ingot::rt {

bool ChatPrompt::load(const Options &o, const ingot::tokenizer::Tokenizer &tok,
                      std::string &error) {
  if (o.templateFile.empty())
    source_.assign(ingot_chat_template, size_t(ingot_chat_template_size));
  else if (!readFileBounded(
               "--chat-template-file", o.templateFile, kMaxTemplateBytes,
               "the most a chat template may have", source_, error))
    return false;
  if (source_.empty() && !o.templateFile.empty())
    return fail(error, "--chat-template-file: '%s' is empty",
                o.templateFile.c_str());
  if (source_.empty())
    return fail(error, "the model has no chat template; give one with "
                       "--chat-template-file FILE");
  if (!templ.load(source_, error)) {
    error = "chat template: " + error;
    return false;
  }
  templ.setSpecialTokens(
      tok.bos() >= 0 ? tok.tokenText(tok.bos()) : std::string(),
      tok.eos() >= 0 ? tok.tokenText(tok.eos()) : std::string());
  return true;
}

bool ChatPrompt::render(std::string &text, std::string &error) const {
  ingot::chat::RenderResult r = templ.render(messages, true);
  if (!r.ok)
    return fail(error, "chat template: %s", r.error.c_str());
  text = std::move(r.text);
  return true;
}

} // namespace ingot::rt
