/* stm32h743: see tc_board_stm32.h. */
#define TC_BOARD_NAME "stm32h743"
#include "tc_board_stm32.h"
