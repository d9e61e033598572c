//===- FileIO.cpp - Bounded reads and checked writes of named files -------===//
#include "FileIO.h"
#include "Error.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ingot::rt {

bool readFileBounded(const char *flag, const std::string &path, uint64_t limit,
                     const std::string &why, std::string &text,
                     std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(error, "%s: cannot read '%s': %s", flag, path.c_str(),
                std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  bool known = ::fstat(fd, &st) == 0;
  if (known && S_ISDIR(st.st_mode))
    return fail(error, "%s: cannot read '%s': it is a directory", flag,
                path.c_str());
  if (known && S_ISREG(st.st_mode) && uint64_t(st.st_size) > limit)
    return fail(error,
                "%s: '%s' has %" PRIu64 " bytes, more than %" PRIu64 ": %s",
                flag, path.c_str(), uint64_t(st.st_size), limit, why.c_str());
  text.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(error, "%s: cannot read '%s': %s", flag, path.c_str(),
                  std::strerror(errno));
    if (n == 0)
      return true;
    if (uint64_t(n) > limit - text.size())
      return fail(error, "%s: '%s' has more than %" PRIu64 " bytes: %s", flag,
                  path.c_str(), limit, why.c_str());
    text.append(buf, size_t(n));
  }
}

OutputFile::~OutputFile() {
  if (fd >= 0)
    ::close(fd);
}

bool OutputFile::open(std::string name, std::string &error) {
  path = std::move(name);
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(error, "cannot write '%s': %s", path.c_str(),
                std::strerror(errno));
  return true;
}

bool OutputFile::write(const void *data, size_t n, std::string &error) {
  const char *p = static_cast<const char *>(data);
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return fail(error, "cannot write '%s': %s", path.c_str(),
                  w < 0 ? std::strerror(errno) : "nothing written");
    p += w;
    n -= size_t(w);
  }
  return true;
}

bool OutputFile::close(std::string &error) {
  if (fd < 0)
    return true;
  int closing = fd;
  fd = -1;
  if (::close(closing) != 0 && errno != EINTR)
    return fail(error, "cannot write '%s': %s", path.c_str(),
                std::strerror(errno));
  return true;
}

} // namespace ingot::rt
