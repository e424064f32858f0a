// tools/synth/classes.hpp — the label space of the synthetic data: two characters, four emotions.
//
// Class ids follow the paper (Jain et al. 2021): detection class 1 is the cat ("tom"), 2 the mouse
// ("jerry"); 0 is background. The emotion classifier has 8 classes, "<emotion>_<character>".
#pragma once

#include <array>
#include <string>

namespace anima::synth {

enum class Character : int { Tom = 1, Jerry = 2 };
enum class Emotion : int { Happy = 0, Sad = 1, Angry = 2, Surprise = 3 };

inline constexpr std::array<Character, 2> kCharacters = {Character::Tom, Character::Jerry};
inline constexpr std::array<Emotion, 4> kEmotions = {Emotion::Happy, Emotion::Sad, Emotion::Angry, Emotion::Surprise};

inline int class_id(Character c) { return static_cast<int>(c); }

inline const char* character_label(Character c) { return c == Character::Tom ? "tom" : "jerry"; }

inline const char* emotion_name(Emotion e) {
  switch (e) {
    case Emotion::Happy: return "happy";
    case Emotion::Sad: return "sad";
    case Emotion::Angry: return "angry";
    case Emotion::Surprise: return "surprise";
  }
  return "unknown";
}

// The classifier's folder / class name, e.g. "happy_tom".
inline std::string face_class_name(Character c, Emotion e) {
  return std::string(emotion_name(e)) + "_" + character_label(c);
}

}  // namespace anima::synth
