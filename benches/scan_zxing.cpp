// zxing-cpp (the reference decoder) timed on the same luma pixels the
// Rust decoders get. Built and driven by benches/scan.rs at bench time:
//
//   g++ -O2 -std=c++17 scan_zxing.cpp $(pkg-config --cflags --libs zxing)
//
// Protocol (one request and one answer per line, so the bench can interleave
// zxing-cpp with its own decoders image by image):
//   stdin:  <path of raw 8-bit grey file> <width> <height> <repeat>
//   stdout: <median ms of `repeat` timed decodes> <hex of the UTF-8 text, or ->
// Reading the file is outside the timed part; one untimed decode comes first
// (as in tillcard::cli::timed_decode). The first output line is the library
// version. Hints: QR codes only, everything else zxing-cpp's defaults
// (try harder, try rotate, try downscale, local-average binarizer), as
// `ZXingReader -format QRCode` runs it.
#define ZX_USE_UTF8 1

#include <ZXing/ReadBarcode.h>
#include <ZXing/ZXVersion.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

int main() {
    std::cout << "zxing-cpp " << ZXING_VERSION_MAJOR << "." << ZXING_VERSION_MINOR << "."
              << ZXING_VERSION_PATCH << std::endl;
    ZXing::DecodeHints hints;
    hints.setFormats(ZXing::BarcodeFormat::QRCode);
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream req(line);
        std::string path;
        int width = 0, height = 0, repeat = 0;
        if (!(req >> path >> width >> height >> repeat) || width <= 0 || height <= 0) {
            std::cout << "error bad-request" << std::endl;
            continue;
        }
        std::ifstream file(path, std::ios::binary);
        std::vector<uint8_t> pixels((std::istreambuf_iterator<char>(file)),
                                    std::istreambuf_iterator<char>());
        if (pixels.size() != static_cast<size_t>(width) * static_cast<size_t>(height)) {
            std::cout << "error bad-file" << std::endl;
            continue;
        }
        ZXing::ImageView image(pixels.data(), width, height, ZXing::ImageFormat::Lum);
        ZXing::Result result = ZXing::ReadBarcode(image, hints);
        std::vector<double> times;
        for (int i = 0; i < std::max(repeat, 1); ++i) {
            auto start = std::chrono::steady_clock::now();
            result = ZXing::ReadBarcode(image, hints);
            auto stop = std::chrono::steady_clock::now();
            times.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
        }
        std::sort(times.begin(), times.end());
        size_t n = times.size();
        double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2.0;
        std::string hex;
        if (result.isValid()) {
            static const char digits[] = "0123456789abcdef";
            for (unsigned char c : result.text()) {
                hex.push_back(digits[c >> 4]);
                hex.push_back(digits[c & 15]);
            }
        }
        if (hex.empty()) hex = "-";
        std::printf("%.6f %s\n", median, hex.c_str());
        std::fflush(stdout);
    }
    return 0;
}
