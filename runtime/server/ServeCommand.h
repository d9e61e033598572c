//===- ServeCommand.h - `serve`: the OpenAI-compatible server ----*- C++
//-*-===//
#ifndef INGOT_RUNTIME_SERVER_SERVECOMMAND_H
#define INGOT_RUNTIME_SERVER_SERVECOMMAND_H

#include <string>

namespace ingot::rt {
struct Options;
}

namespace ingot::rt::server {

/// serve: listens, loads the model, answers requests until SIGINT/SIGTERM;
/// false with one error sentence when it cannot start.
bool runServe(const Options &o, std::string &error);

} // namespace ingot::rt::server

#endif // INGOT_RUNTIME_SERVER_SERVECOMMAND_H
