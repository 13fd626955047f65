// The kiosk's window: SDL2 + an OpenGL 3.0 context + the Dear ImGui SDL/GL3 backends, with an
// event wait so the loop sleeps until input or its next deadline (render on demand).
#pragma once
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <imgui.h>

#include "platform/input.hpp"

struct SDL_Window;

namespace segue::platform {

struct WindowOptions {
    std::string title = "SEGUE Kiosk";
    int width = 1280;
    int height = 800;
    bool fullscreen = false;   ///< desktop-sized borderless fullscreen, cursor hidden
};

/// What arrived while waiting.
struct PumpResult {
    bool quit = false;         ///< window closed or SIGTERM/SIGINT (SDL turns both into SDL_QUIT)
    bool activity = false;     ///< input or a window change: the loop renders a few frames
    bool resized = false;
    std::vector<KeyPress> keys;
};

/// The desktop's size in pixels (what a fullscreen window will get), if a display is there.
std::optional<std::pair<int, int>> desktopSize();

/// Owns the SDL window, the GL context and the ImGui context with its two backends.
class Window {
public:
    /// Opens the window and its GL context (the slow part of start-up: the GL driver loads).
    static std::expected<std::unique_ptr<Window>, std::string> create(const WindowOptions& options);
    /// Creates the ImGui context over `fonts` (built meanwhile on another thread; it must
    /// outlive the window) and starts the SDL and OpenGL3 backends.
    std::expected<void, std::string> startImGui(ImFontAtlas* fonts);
    ~Window();
    Window(const Window&) = delete;
    Window& operator=(const Window&) = delete;

    /// Sleeps until an event arrives or `timeoutMs` passes (0 = just poll), then drains the queue.
    PumpResult waitEvents(int timeoutMs);
    /// The primary button (or a finger) is down right now.
    bool pointerHeld() const { return m_buttonDown; }
    /// Window size in ImGui coordinates.
    int width() const;
    int height() const;

    /// Starts an ImGui frame (backends first, then ImGui::NewFrame).
    void newFrame();
    /// Renders the frame over `clear` and swaps. With a non-empty `screenshot` path the frame
    /// is also written there as PNG (read back before the swap).
    std::expected<void, std::string> present(const ImVec4& clear,
                                             const std::filesystem::path& screenshot = {});
    /// Re-uploads the font atlas after it was rebuilt (e.g. for a new window size).
    void reloadFontTexture();

private:
    Window() = default;
    /// Re-specifies the font texture the OpenGL3 backend made (RGBA, white with the glyph in
    /// alpha) as one byte a texel, read through a swizzle: the same pixels at a quarter of the
    /// memory, which a software renderer keeps in the process. Needs the atlas's CPU pixels.
    void slimFontTexture();
    bool m_fontTextureSlim = false;   ///< the backend's font texture has been slimmed
    SDL_Window* m_window = nullptr;
    void* m_gl = nullptr;
    bool m_sdlInit = false;
    bool m_imguiInit = false;
    bool m_sdlBackend = false;
    bool m_glBackend = false;
    // The 1.86 SDL backend reads the pointer position only while the window has keyboard
    // focus, which a window under a bare X server (no window manager) never gets; track it here.
    float m_mouseX = -1.f;
    float m_mouseY = -1.f;
    bool m_mouseSeen = false;
    bool m_buttonDown = false;
    bool m_pressedSinceFrame = false;
};

/// Writes `rgba` (top row first) as a PNG.
std::expected<void, std::string> writePng(const std::filesystem::path& file, int width, int height,
                                          const std::vector<unsigned char>& rgba);

} // namespace segue::platform
