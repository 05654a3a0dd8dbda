#include "sluice/io/local_log_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <random>

namespace sluice::io {

namespace {

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("create directory '", dir, "': ", ec.message());
  return Status::OK();
}

std::string ParentOf(const std::string& abs) {
  auto pos = abs.rfind('/');
  return pos == std::string::npos ? "." : abs.substr(0, pos);
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(rng() & 0xffffffff);
}

}  // namespace

LocalLogStore::LocalLogStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string LocalLogStore::Abs(const std::string& path) const { return root_ + "/" + path; }

std::string LocalLogStore::Describe(const std::string& path) const { return Abs(path); }

Result<std::vector<FileEntry>> LocalLogStore::ListFrom(const std::string& dir,
                                                       const std::string& start_name) {
  std::vector<FileEntry> out;
  std::string abs_dir = Abs(dir);
  DIR* d = opendir(abs_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return ErrnoStatus(errno, "list", abs_dir);
  }
  while (struct dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == ".." || name < start_name) continue;
    if (name.rfind(".tmp.", 0) == 0) continue;  // our own in-flight temporaries
    struct stat st;
    if (stat((abs_dir + "/" + name).c_str(), &st) != 0) continue;  // raced with a delete
    if (!S_ISREG(st.st_mode)) continue;
    int64_t mtime_ms =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    out.push_back(
        {dir.empty() ? name : dir + "/" + name, static_cast<int64_t>(st.st_size), mtime_ms});
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return out;
}

Result<std::string> LocalLogStore::WriteTemp(const std::string& abs, std::string_view data) {
  std::string dir = ParentOf(abs);
  ARROW_RETURN_NOT_OK(MakeDirs(dir));
  std::string tmp = dir + "/.tmp." + UniqueSuffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create", tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "fsync", tmp);
  }
  ::close(fd);
  return tmp;
}

Status LocalLogStore::PutIfAbsent(const std::string& path, std::string_view data) {
  std::string abs = Abs(path);
  ARROW_ASSIGN_OR_RAISE(std::string tmp, WriteTemp(abs, data));
  // link() is atomic and never replaces an existing name.
  int rc = ::link(tmp.c_str(), abs.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return Status::AlreadyExists("'", abs, "' already exists");
    return ErrnoStatus(err, "link", abs);
  }
  return Status::OK();
}

Status LocalLogStore::Put(const std::string& path, std::string_view data) {
  std::string abs = Abs(path);
  ARROW_ASSIGN_OR_RAISE(std::string tmp, WriteTemp(abs, data));
  if (::rename(tmp.c_str(), abs.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "rename", abs);
  }
  return Status::OK();
}

Result<std::string> LocalLogStore::Read(const std::string& path) {
  std::string abs = Abs(path);
  int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::KeyError("not found: '", abs, "'");
    return ErrnoStatus(errno, "open", abs);
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "read", abs);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::optional<FileEntry>> LocalLogStore::Head(const std::string& path) {
  struct stat st;
  std::string abs = Abs(path);
  if (::stat(abs.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<FileEntry>();
    return ErrnoStatus(errno, "stat", abs);
  }
  int64_t mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return std::optional<FileEntry>(FileEntry{path, static_cast<int64_t>(st.st_size), mtime_ms});
}

Status LocalLogStore::Delete(const std::string& path) {
  std::string abs = Abs(path);
  if (::unlink(abs.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "delete", abs);
  return Status::OK();
}

}  // namespace sluice::io
