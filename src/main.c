#include <stdio.h>
#include "walden/walden.h"
int main(void)
{
    puts(walden_error_name(0));
    return 0;
}
