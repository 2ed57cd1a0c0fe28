# The fuzz targets (fuzz/fuzz_NAME.c, seeds in fuzz/corpus/NAME): built with
# libFuzzer under CC=clang (fuzz/CMakeLists.txt), and with every compiler as
# replays of their seeds in the tests (tests/CMakeLists.txt).
set(CS_FUZZ_TARGETS ioc filetype report pe authenticode yara_split yara_literals product msi unpack names udif
    partmap hfsplus asar pbzx codesign lzfse tlsh simdb multipart)
