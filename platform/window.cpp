#include "platform/window.hpp"

#include <algorithm>
#include <cstdint>

#include <SDL.h>
#include <SDL_opengl.h>

#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <stb_image_write.h>

namespace segue::platform {
namespace {

std::string sdlError(const char* what) { return std::string(what) + ": " + SDL_GetError(); }

void mapKey(const SDL_Keysym& k, std::vector<KeyPress>& out) {
    const SDL_Keycode c = k.sym;
    if (c >= SDLK_0 && c <= SDLK_9) { out.push_back({KeyKind::Digit, static_cast<int>(c - SDLK_0)}); return; }
    if (c >= SDLK_KP_1 && c <= SDLK_KP_9) { out.push_back({KeyKind::Digit, static_cast<int>(c - SDLK_KP_1) + 1}); return; }
    switch (c) {
    case SDLK_KP_0: out.push_back({KeyKind::Digit, 0}); break;
    case SDLK_RETURN:
    case SDLK_KP_ENTER: out.push_back({KeyKind::Enter, 0}); break;
    case SDLK_ESCAPE: out.push_back({KeyKind::Escape, 0}); break;
    case SDLK_BACKSPACE:
    case SDLK_DELETE: out.push_back({KeyKind::Backspace, 0}); break;
    case SDLK_l: out.push_back({KeyKind::LetterL, 0}); break;
    case SDLK_F10: out.push_back({KeyKind::F10, 0}); break;
    default: break;
    }
}

} // namespace

std::expected<std::unique_ptr<Window>, std::string> Window::create(const WindowOptions& options) {
    std::unique_ptr<Window> w(new Window());
    SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");
    SDL_SetHint(SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, "1");
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) return std::unexpected(sdlError("SDL_Init"));
    w->m_sdlInit = true;

    SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, 0);   // 3.0 has no core profile
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
    SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);

    Uint32 flags = SDL_WINDOW_OPENGL | SDL_WINDOW_ALLOW_HIGHDPI | SDL_WINDOW_SHOWN;
    int x = SDL_WINDOWPOS_CENTERED, y = SDL_WINDOWPOS_CENTERED, width = options.width, height = options.height;
    if (options.fullscreen) {
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
        // Without a window manager (a bare kiosk X session) the fullscreen request is never
        // acted on, so the window is also created at the desktop's size and origin.
        SDL_DisplayMode mode{};
        if (SDL_GetDesktopDisplayMode(0, &mode) == 0 && mode.w > 0 && mode.h > 0) {
            x = 0;
            y = 0;
            width = mode.w;
            height = mode.h;
        }
    }
    w->m_window = SDL_CreateWindow(options.title.c_str(), x, y, width, height, flags);
    if (w->m_window == nullptr) return std::unexpected(sdlError("SDL_CreateWindow"));
    w->m_gl = SDL_GL_CreateContext(w->m_window);
    if (w->m_gl == nullptr) return std::unexpected(sdlError("SDL_GL_CreateContext"));
    if (SDL_GL_MakeCurrent(w->m_window, w->m_gl) != 0) return std::unexpected(sdlError("SDL_GL_MakeCurrent"));
    // Vsync is best effort (a virtual X server refuses it); the loop never spins anyway.
    (void)SDL_GL_SetSwapInterval(1);
    if (options.fullscreen) SDL_ShowCursor(SDL_DISABLE);
    return w;
}

std::expected<void, std::string> Window::startImGui(ImFontAtlas* fonts) {
    IMGUI_CHECKVERSION();
    ImGui::CreateContext(fonts);
    m_imguiInit = true;
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;   // a kiosk keeps no window layout file
    io.LogFilename = nullptr;
    if (!ImGui_ImplSDL2_InitForOpenGL(m_window, m_gl)) return std::unexpected("ImGui SDL2 backend failed to start");
    m_sdlBackend = true;
    if (!ImGui_ImplOpenGL3_Init("#version 130")) return std::unexpected("ImGui OpenGL3 backend failed to start");
    m_glBackend = true;
    return {};
}

std::optional<std::pair<int, int>> desktopSize() {
    // Reference-counted: the window's own SDL_Init later shares this one; the window's
    // SDL_Quit ends both.
    const bool ready = SDL_InitSubSystem(SDL_INIT_VIDEO) == 0;
    SDL_DisplayMode mode{};
    if (!ready || SDL_GetDesktopDisplayMode(0, &mode) != 0 || mode.w <= 0 || mode.h <= 0) return std::nullopt;
    return std::pair{mode.w, mode.h};
}

Window::~Window() {
    if (m_glBackend) ImGui_ImplOpenGL3_Shutdown();
    if (m_sdlBackend) ImGui_ImplSDL2_Shutdown();
    if (m_imguiInit) ImGui::DestroyContext();
    if (m_gl != nullptr) SDL_GL_DeleteContext(m_gl);
    if (m_window != nullptr) SDL_DestroyWindow(m_window);
    if (m_sdlInit) SDL_Quit();
}

PumpResult Window::waitEvents(int timeoutMs) {
    PumpResult r;
    SDL_Event e;
    bool have = timeoutMs > 0 ? SDL_WaitEventTimeout(&e, timeoutMs) == 1 : SDL_PollEvent(&e) == 1;
    while (have) {
        ImGui_ImplSDL2_ProcessEvent(&e);
        switch (e.type) {
        case SDL_QUIT: r.quit = true; break;
        case SDL_WINDOWEVENT:
            if (e.window.event == SDL_WINDOWEVENT_CLOSE) r.quit = true;
            if (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) r.resized = true;
            r.activity = true;
            break;
        case SDL_MOUSEMOTION:
            m_mouseX = static_cast<float>(e.motion.x);
            m_mouseY = static_cast<float>(e.motion.y);
            m_mouseSeen = true;
            // Hover alone changes nothing on a touch screen; only drags need frames.
            if (m_buttonDown) r.activity = true;
            break;
        case SDL_MOUSEBUTTONDOWN:
        case SDL_MOUSEBUTTONUP:
            if (e.button.button == SDL_BUTTON_LEFT) {
                m_mouseX = static_cast<float>(e.button.x);
                m_mouseY = static_cast<float>(e.button.y);
                m_mouseSeen = true;
                m_buttonDown = e.type == SDL_MOUSEBUTTONDOWN;
                if (m_buttonDown) m_pressedSinceFrame = true;
                r.activity = true;
            }
            break;
        case SDL_KEYDOWN:
            if (e.key.repeat == 0) mapKey(e.key.keysym, r.keys);
            r.activity = true;
            break;
        default: break;
        }
        have = SDL_PollEvent(&e) == 1;
    }
    return r;
}

int Window::width() const {
    int w = 0, h = 0;
    SDL_GetWindowSize(m_window, &w, &h);
    return w;
}

int Window::height() const {
    int w = 0, h = 0;
    SDL_GetWindowSize(m_window, &w, &h);
    return h;
}

void Window::newFrame() {
    ImGui_ImplOpenGL3_NewFrame();   // makes the shaders and the font texture on the first frame
    if (!m_fontTextureSlim) {
        slimFontTexture();
        m_fontTextureSlim = true;
    }
    ImGui_ImplSDL2_NewFrame();
    ImGuiIO& io = ImGui::GetIO();
    if (m_mouseSeen) io.MousePos = ImVec2(m_mouseX, m_mouseY);
    // A press and its release can arrive between two frames: show the press for one frame.
    io.MouseDown[0] = m_pressedSinceFrame || m_buttonDown;
    m_pressedSinceFrame = false;
    ImGui::NewFrame();
}

std::expected<void, std::string> Window::present(const ImVec4& clear, const std::filesystem::path& screenshot) {
    ImGui::Render();
    const ImGuiIO& io = ImGui::GetIO();
    const int fbW = static_cast<int>(io.DisplaySize.x * io.DisplayFramebufferScale.x);
    const int fbH = static_cast<int>(io.DisplaySize.y * io.DisplayFramebufferScale.y);
    glViewport(0, 0, fbW, fbH);
    glClearColor(clear.x, clear.y, clear.z, clear.w);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    std::expected<void, std::string> shot;
    if (!screenshot.empty() && fbW > 0 && fbH > 0) {
        std::vector<unsigned char> pixels(static_cast<std::size_t>(fbW) * static_cast<std::size_t>(fbH) * 4);
        glPixelStorei(GL_PACK_ALIGNMENT, 1);
        glReadBuffer(GL_BACK);
        glReadPixels(0, 0, fbW, fbH, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
        if (glGetError() != GL_NO_ERROR) {
            shot = std::unexpected("glReadPixels failed");
        } else {
            // GL rows run bottom-up; PNG rows top-down.
            std::vector<unsigned char> flipped(pixels.size());
            const std::size_t row = static_cast<std::size_t>(fbW) * 4;
            for (int y = 0; y < fbH; ++y)
                std::copy_n(pixels.data() + static_cast<std::size_t>(fbH - 1 - y) * row, row,
                            flipped.data() + static_cast<std::size_t>(y) * row);
            for (std::size_t i = 3; i < flipped.size(); i += 4) flipped[i] = 255;
            shot = writePng(screenshot, fbW, fbH, flipped);
        }
    }
    SDL_GL_SwapWindow(m_window);
    return shot;
}

void Window::reloadFontTexture() {
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
    slimFontTexture();
}

void Window::slimFontTexture() {
    const ImFontAtlas& atlas = *ImGui::GetIO().Fonts;
    const auto texture = static_cast<GLuint>(reinterpret_cast<std::intptr_t>(atlas.TexID));
    // Without the swizzle (GL 3.3, or the extension) the RGBA texture stays as it is.
    if (texture == 0 || atlas.TexPixelsAlpha8 == nullptr ||
        (SDL_GL_ExtensionSupported("GL_ARB_texture_swizzle") == SDL_FALSE &&
         SDL_GL_ExtensionSupported("GL_EXT_texture_swizzle") == SDL_FALSE))
        return;
    GLint bound = 0;
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
    glBindTexture(GL_TEXTURE_2D, texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, atlas.TexWidth, atlas.TexHeight, 0, GL_RED, GL_UNSIGNED_BYTE,
                 atlas.TexPixelsAlpha8);
    // What ImGui's RGBA32 conversion makes of each alpha byte: (255, 255, 255, alpha).
    const GLint swizzle[] = {GL_ONE, GL_ONE, GL_ONE, GL_RED};
    glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, swizzle);
    glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(bound));
}

std::expected<void, std::string> writePng(const std::filesystem::path& file, int width, int height,
                                          const std::vector<unsigned char>& rgba) {
    if (rgba.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4)
        return std::unexpected("screenshot buffer has the wrong size");
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return std::unexpected("cannot create " + file.parent_path().string() + ": " + ec.message());
    if (stbi_write_png(file.c_str(), width, height, 4, rgba.data(), width * 4) == 0)
        return std::unexpected("cannot write " + file.string());
    return {};
}

} // namespace segue::platform
