// Benchmark 3's baseline: an SDL2 window with an OpenGL 3.0 context made exactly as the kiosk's
// platform layer makes it, which clears and presents one frame and then only waits for events.
// It logs "first frame" on stderr right after the swap, as segue-kiosk does.
// With --imgui it draws that frame through Dear ImGui's SDL2 and OpenGL3 backends instead (a
// rounded rectangle and a line of ImGui's built-in font): a reference for what drawing anything
// at all costs the renderer, which the judged rows' baseline (drawing nothing) leaves out.
#include <SDL.h>
#include <SDL_opengl.h>
#include <backends/imgui_impl_opengl3.h>
#include <backends/imgui_impl_sdl.h>
#include <imgui.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    int width = 1280, height = 800;
    bool imgui = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--imgui") == 0) {
            imgui = true;
        } else if (std::strcmp(argv[i], "--window") == 0 && i + 1 < argc &&
                   std::sscanf(argv[i + 1], "%dx%d", &width, &height) == 2) {
            ++i;
        } else {
            std::fprintf(stderr, "usage: segue-bench-bare-window [--window WxH] [--imgui]\n");
            return 2;
        }
    }
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
        std::fprintf(stderr, "bare-window: SDL_Init: %s\n", SDL_GetError());
        return 1;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
    SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);
    SDL_Window* window = SDL_CreateWindow("bare window", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, width, height,
                                          SDL_WINDOW_OPENGL | SDL_WINDOW_ALLOW_HIGHDPI | SDL_WINDOW_SHOWN);
    if (window == nullptr) {
        std::fprintf(stderr, "bare-window: SDL_CreateWindow: %s\n", SDL_GetError());
        SDL_Quit();
        return 1;
    }
    SDL_GLContext gl = SDL_GL_CreateContext(window);
    if (gl == nullptr || SDL_GL_MakeCurrent(window, gl) != 0) {
        std::fprintf(stderr, "bare-window: GL context: %s\n", SDL_GetError());
        SDL_DestroyWindow(window);
        SDL_Quit();
        return 1;
    }
    (void)SDL_GL_SetSwapInterval(1);
    if (imgui) {
        IMGUI_CHECKVERSION();
        ImGui::CreateContext();
        ImGui::GetIO().IniFilename = nullptr;
        if (!ImGui_ImplSDL2_InitForOpenGL(window, gl) || !ImGui_ImplOpenGL3_Init("#version 130")) {
            std::fprintf(stderr, "bare-window: ImGui backends failed to start\n");
            return 1;
        }
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplSDL2_NewFrame();
        ImGui::NewFrame();
        // The background list is drawn on the first frame (a new window would stay hidden in it).
        ImDrawList* draw = ImGui::GetBackgroundDrawList();
        draw->AddRectFilled(ImVec2(40, 40), ImVec2(240, 120), IM_COL32(60, 120, 200, 255), 12.f);
        draw->AddText(ImVec2(60, 70), IM_COL32_WHITE, "0123456789");
        ImGui::Render();
    }
    glClearColor(0.f, 0.f, 0.f, 1.f);
    glClear(GL_COLOR_BUFFER_BIT);
    if (imgui) ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    SDL_GL_SwapWindow(window);
    std::fprintf(stderr, "bare-window: first frame\n");
    std::fflush(stderr);

    // Nothing more to draw: sleep in the event queue until SIGTERM (SDL_QUIT) or the window closes.
    SDL_Event e;
    while (SDL_WaitEvent(&e) != 0)
        if (e.type == SDL_QUIT) break;
    if (imgui) {
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplSDL2_Shutdown();
        ImGui::DestroyContext();
    }
    SDL_GL_DeleteContext(gl);
    SDL_DestroyWindow(window);
    SDL_Quit();
    return 0;
}
