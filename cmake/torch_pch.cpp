// The translation unit that builds the shared precompiled torch header (cmake/torch_pch.h).
