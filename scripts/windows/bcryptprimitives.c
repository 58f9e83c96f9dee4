/* A stand-in for Windows' bcryptprimitives.dll, for running the Windows build under a Wine
 * that lacks it (Debian 12's Wine 8.0). Rust's std (1.78 and later) imports ProcessPrng from
 * it for its random numbers (HashMap keys); without the DLL the program does not start.
 * scripts/windows.sh builds this with MinGW and copies it into its own Wine prefix, for the
 * tests only: it is never shipped, and real Windows (10 / Server 2016 and later) has the DLL.
 *
 * ProcessPrng fills the buffer from the system RNG, as BCryptGenRandom does. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
