// tools/anima/frame_prefetch.hpp — a reader thread that decodes a video's frames ahead of the one
// using them: up to `depth` decoded frames wait in a queue, so decoding overlaps the nets' work.
// next() hands the frames over in order; an exception the reader meets (a decoder failure) is thrown
// from next() once the frames before it are used. Destroying the prefetcher early stops the reader and
// joins it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "video_frames.hpp"

namespace anima::cli {

class FramePrefetcher {
 public:
  FramePrefetcher(VideoFrames& source, std::size_t depth) : source_(source), depth_(depth < 1 ? 1 : depth) {
    reader_ = std::thread([this] { read_all(); });
  }
  ~FramePrefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    reader_.join();
  }
  FramePrefetcher(const FramePrefetcher&) = delete;
  FramePrefetcher& operator=(const FramePrefetcher&) = delete;

  // The next frame, or false at the end of the video.
  bool next(SampledFrame& frame) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !queue_.empty() || ended_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return false;
    }
    frame = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return true;
  }

 private:
  void read_all() {
    try {
      while (true) {
        SampledFrame frame;
        if (!source_.next(frame)) break;
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return queue_.size() < depth_ || stop_; });
        if (stop_) break;
        queue_.push_back(std::move(frame));
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }

  VideoFrames& source_;
  std::size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<SampledFrame> queue_;
  std::exception_ptr error_;
  bool ended_ = false, stop_ = false;
  std::thread reader_;
};

}  // namespace anima::cli
